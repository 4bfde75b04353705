// Command reloader stands in for a long-running task in the --watch tests.
// It appends one JSON line per event to $RELOADER_OUT:
//
//   - "start": its pid and the value of the variable $RELOADER_ENV names;
//   - "signal": a reload signal, with the time it came and the secret files
//     read through /etc/flyte/secrets (under $RELOADER_ROOT) right then;
//   - "exit": on SIGTERM, what the read loop saw, then it exits with 7.
//
// With RELOADER_LOOP set, a goroutine rereads the files named in
// $RELOADER_FILES (comma-separated) over and over, through ..data as
// mountfs documents (readSet), and counts the sets that were torn (files of
// different versions: each value is "VERSION:...") and the reads that
// failed.
//
// With RELOADER_HOG set, it instead opens inotify instances until the
// kernel refuses one, says how many it holds on stdout, and sleeps: the
// user it runs as then has none left.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type event struct {
	Event  string            `json:"event"`
	PID    int               `json:"pid"`
	Env    string            `json:"env,omitempty"`
	Signal string            `json:"signal,omitempty"`
	Time   int64             `json:"time_ns"`
	Files  map[string]string `json:"files,omitempty"`
	Errors []string          `json:"errors,omitempty"`
	Sets   int64             `json:"sets,omitempty"`
	Torn   int64             `json:"torn,omitempty"`
	Failed int64             `json:"failed,omitempty"`
	// Retries are the reads that found their version retired and started
	// again, as the protocol says: not failures.
	Retries int64 `json:"retries,omitempty"`
}

var (
	mu  sync.Mutex
	out *os.File
)

func write(e event) {
	e.PID, e.Time = os.Getpid(), time.Now().UnixNano()
	b, _ := json.Marshal(e)
	mu.Lock()
	defer mu.Unlock()
	out.Write(append(b, '\n'))
}

// readSet reads names as one version, the way mountfs documents: resolve
// ..data once, read the files under that version directory, check it is
// still there; a version retired meanwhile (ENOENT) means start again, and
// is counted in retries. errs are failures other than that.
func readSet(dir string, names []string) (files map[string]string, errs []string) {
	for {
		v, err := os.Readlink(filepath.Join(dir, "..data"))
		if err != nil {
			return nil, []string{err.Error()}
		}
		files, errs = map[string]string{}, nil
		again := false
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, v, n))
			if errors.Is(err, os.ErrNotExist) {
				again = true
				break
			}
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			files[n] = string(b)
		}
		if _, err := os.Lstat(filepath.Join(dir, v)); err != nil {
			again = true
		}
		if !again {
			return files, errs
		}
		retries.Add(1)
	}
}

var retries atomic.Int64

func main() {
	if os.Getenv("RELOADER_HOG") != "" {
		n := 0
		for {
			if _, err := syscall.InotifyInit1(0); err != nil {
				break
			}
			n++
		}
		fmt.Println(n)
		for {
			time.Sleep(time.Hour)
		}
	}
	var err error
	out, err = os.OpenFile(os.Getenv("RELOADER_OUT"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		os.Exit(3)
	}
	dir := filepath.Join(os.Getenv("RELOADER_ROOT"), "etc/flyte/secrets")
	var names []string
	if f := os.Getenv("RELOADER_FILES"); f != "" {
		names = strings.Split(f, ",")
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	if swap := os.Getenv("RELOADER_SWAP"); swap != "" {
		// RELOADER_SWAP=FROM:TO renames FROM to TO first thing: a Secret
		// volume update in the moment the command starts, before the
		// shim's watch may be in place.
		from, to, _ := strings.Cut(swap, ":")
		if os.Rename(from, to) != nil {
			os.Exit(4)
		}
	}
	write(event{Event: "start", Env: os.Getenv(os.Getenv("RELOADER_ENV"))})

	var sets, torn, failed atomic.Int64
	if os.Getenv("RELOADER_LOOP") != "" {
		go func() {
			for {
				files, errs := readSet(dir, names)
				sets.Add(1)
				if len(errs) > 0 {
					failed.Add(1)
					continue
				}
				version := ""
				for _, v := range files {
					ver, _, _ := strings.Cut(v, ":")
					if version != "" && ver != version {
						torn.Add(1)
						break
					}
					version = ver
				}
			}
		}()
	}
	for s := range sigs {
		if s == syscall.SIGTERM {
			write(event{Event: "exit", Sets: sets.Load(), Torn: torn.Load(), Failed: failed.Load(), Retries: retries.Load()})
			os.Exit(7)
		}
		files, errs := readSet(dir, names)
		write(event{Event: "signal", Signal: s.String(), Files: files, Errors: errs})
	}
}
