// Command startup measures flyte-entrypoint's start-up cost against a floor:
// a minimal Go program that only execve's the same command. Runs of the two
// are interleaved in one process, so that the shared machine's noise hits
// both alike, and the report is a ratio of medians.
//
//	go run ./bench/startup -shim BIN[,BIN...] -baseline BIN [-n 200] [-secrets 10] [-files 2]
//
// Several shims (comma-separated) are each interleaved with the baseline.
//
// Besides wall time it reports each run's page faults and CPU time (user
// plus system, from the child's rusage). On a virtual machine most of a
// short start's time is the kernel's: execve, page faults and thread
// set-up, so the fault count, which repeats from run to run, explains the
// wall ratio that noise hides.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one run: its wall time, its minor page faults and its CPU time.
type sample struct {
	wall   time.Duration
	faults int64
	cpu    time.Duration
}

// series is the runs of one binary.
type series []sample

func (s series) wall() []time.Duration {
	return pick(s, func(x sample) time.Duration { return x.wall })
}
func (s series) cpu() []time.Duration { return pick(s, func(x sample) time.Duration { return x.cpu }) }
func (s series) faults() []time.Duration {
	return pick(s, func(x sample) time.Duration { return time.Duration(x.faults) })
}

func pick(s series, f func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	return out
}

func main() {
	shim := flag.String("shim", "", "the flyte-entrypoint binaries, comma-separated")
	baseline := flag.String("baseline", "", "the baseline binary")
	floors := flag.String("floors", "", "more programs run as the baseline is, with only the command (bench/libfloor), comma-separated")
	n := flag.Int("n", 200, "runs of each")
	secrets := flag.Int("secrets", 10, "secrets to resolve")
	files := flag.Int("files", 2, "how many of them are files")
	command := flag.String("command", "/bin/true", "the command both exec")
	shm := flag.String("shm", "/dev/shm", "a tmpfs for the mount root, as in production")
	flag.Parse()
	if *shim == "" || *baseline == "" {
		flag.Usage()
		os.Exit(2)
	}

	work, err := os.MkdirTemp(*shm, "flyte-entrypoint-bench-")
	check(err)
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	check(os.Mkdir(src, 0o700))
	args := []string{"--dir", src, "--store", filepath.Join(work, "store")}
	for i := range *secrets {
		key := "secret-" + strconv.Itoa(i)
		check(os.WriteFile(filepath.Join(src, key), []byte("value-of-"+key), 0o600))
		if i < *files {
			args = append(args, "--secret", "key="+key+",mount=/etc/flyte/secrets")
		} else {
			args = append(args, "--secret", key)
		}
	}
	// Each shim run publishes into a fresh --root, as each container start
	// does: production never republishes over an earlier start's mount.
	shimArgs := func(i int) []string {
		a := append(append([]string{}, args...), "--root", filepath.Join(work, "root-"+strconv.Itoa(i)))
		return append(append(a, "--"), *command)
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + work}

	// One warm-up run of each, which also checks that they work.
	shims := strings.Split(*shim, ",")
	var extra []string
	if *floors != "" {
		extra = strings.Split(*floors, ",")
	}
	runOnce(*baseline, []string{*command}, env, true)
	for _, f := range extra {
		runOnce(f, []string{*command}, env, true)
	}
	for _, s := range shims {
		runOnce(s, shimArgs(-1), env, true)
	}

	var base series
	with := make([]series, len(extra)+len(shims))
	for i := range *n {
		base = append(base, runOnce(*baseline, []string{*command}, env, false))
		for j, f := range extra {
			with[j] = append(with[j], runOnce(f, []string{*command}, env, false))
		}
		for j, s := range shims {
			with[len(extra)+j] = append(with[len(extra)+j], runOnce(s, shimArgs(i*len(shims)+j), env, false))
		}
	}
	mb, fb, cb := median(base.wall()), median(base.faults()), median(base.cpu())
	fmt.Printf("secrets=%d files=%d runs=%d (medians; cpu is user+system)\n", *secrets, *files, *n)
	fmt.Printf("%-24s wall %7.3f ms  p90 %7.3f ms               faults %4d        cpu %7.3f ms\n",
		"baseline", ms2(mb), ms2(pct(base.wall(), 90)), fb, ms2(cb))
	for j, s := range append(extra, shims...) {
		w := with[j]
		ms, fs, cs := median(w.wall()), median(w.faults()), median(w.cpu())
		fmt.Printf("%-24s wall %7.3f ms  p90 %7.3f ms  ratio %.2fx  faults %4d %.2fx  cpu %7.3f ms %.2fx\n",
			filepath.Base(s), ms2(ms), ms2(pct(w.wall(), 90)), float64(ms)/float64(mb),
			fs, float64(fs)/float64(fb), ms2(cs), float64(cs)/float64(cb))
	}
}

func runOnce(bin string, args, env []string, show bool) sample {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if show {
		cmd.Stderr = os.Stderr
	}
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", bin, err)
		os.Exit(1)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: d, faults: ru.Minflt, cpu: cpu}
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms2(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
