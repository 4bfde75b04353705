package local

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// The test binary doubles as the child process of the multi-process tests:
// with childEnv set, TestMain runs a child's job instead of the tests.
const (
	childEnv      = "LOCAL_STORE_TEST_CHILD"
	childStoreEnv = "LOCAL_STORE_TEST_DIR"
	childNameEnv  = "LOCAL_STORE_TEST_PREFIX"
	childCountEnv = "LOCAL_STORE_TEST_COUNT"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "create":
		os.Exit(childCreate())
	case "churn":
		os.Exit(childChurn())
	default:
		fmt.Fprintf(os.Stderr, "unknown child job %q\n", os.Getenv(childEnv))
		os.Exit(2)
	}
}

// valueFor is the value a test stores under name in generation gen: a
// header naming both, then a few KiB derived from them, so that any torn or
// mixed record would fail checkValue.
func valueFor(name string, gen int) []byte {
	header := fmt.Sprintf("%s gen=%d\n", name, gen)
	var b bytes.Buffer
	b.WriteString(header)
	sum := sha256.Sum256([]byte(header))
	for b.Len() < 8<<10 {
		b.Write(sum[:])
		sum = sha256.Sum256(sum[:])
	}
	return b.Bytes()
}

func checkValue(name string, v []byte) error {
	header, _, ok := bytes.Cut(v, []byte("\n"))
	if !ok {
		return fmt.Errorf("secret %q: value has no header", name)
	}
	gen, err := strconv.Atoi(strings.TrimPrefix(string(header), name+" gen="))
	if err != nil {
		return fmt.Errorf("secret %q: value header is not its own", name)
	}
	if !bytes.Equal(v, valueFor(name, gen)) {
		return fmt.Errorf("secret %q: value of generation %d is torn", name, gen)
	}
	return nil
}

// childCreate creates COUNT secrets named PREFIX-NNN, reading the store
// between writes, then tries the contended name and prints whether it won.
func childCreate() int {
	s, err := Open(os.Getenv(childStoreEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	prefix := os.Getenv(childNameEnv)
	n, _ := strconv.Atoi(os.Getenv(childCountEnv))
	if err := createMany(s, prefix, n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	won, err := createContended(s, prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(won)
	return 0
}

func createMany(s *Store, prefix string, n int) error {
	for i := range n {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		if _, err := s.Create(ctx, org, name, manage.TypeRegular, secret.New(valueFor(name, 0))); err != nil {
			return err
		}
		if _, _, err := s.List(ctx, org, 7, ""); err != nil {
			return err
		}
		_, v, err := s.Get(ctx, org, name)
		if err != nil {
			return err
		}
		if err := checkValue(name, v.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// createContended creates the one name that every writer tries; exactly one
// must win.
func createContended(s *Store, who string) (bool, error) {
	_, err := s.Create(ctx, org, "contended", manage.TypeRegular, secret.New(valueFor("contended", 0)))
	switch {
	case err == nil:
		return true, nil
	case manage.IsExists(err):
		return false, nil
	}
	return false, fmt.Errorf("%s: contended create: %w", who, err)
}

// childChurn replaces secrets in a loop (delete, then create a new
// generation) until it is killed.
func childChurn() int {
	s, err := Open(os.Getenv(childStoreEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for gen := 1; ; gen++ {
		name := fmt.Sprintf("churn-%02d", gen%16)
		if err := s.Delete(ctx, org, name); err != nil && !manage.IsNotFound(err) {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.Create(ctx, org, name, manage.TypeRegular, secret.New(valueFor(name, gen))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

func child(t *testing.T, job, dir string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+job, childStoreEnv+"="+dir)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// checkStore reads every record file directly: each must decode and hold
// its own, untorn value. It returns the names seen and the temporary files
// left.
func checkStore(t *testing.T, dir string) (names []string, temps int) {
	t.Helper()
	sd := filepath.Join(dir, "secrets")
	entries, err := os.ReadDir(sd)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			temps++
			continue
		}
		p := filepath.Join(sd, e.Name())
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		r, err := decodeRecord(data)
		require.NoError(t, err, "record %s", e.Name())
		assert.Equal(t, resolver.ScopedID(r.Scope(), r.Name), e.Name())
		assert.NoError(t, checkValue(r.Name, r.Value))
		fi, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), e.Name())
		names = append(names, r.Name)
	}
	return names, temps
}

// Several processes and goroutines create distinct secrets in one store,
// which none of them has made yet, while readers list and get. Every write
// succeeds, exactly one writer wins the name they all try, and the store is
// whole afterwards.
func TestConcurrentWritersAcrossProcesses(t *testing.T) {
	const (
		procs      = 3
		goroutines = 6
		perWriter  = 15
	)
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir)
	require.NoError(t, err)

	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range procs {
		cmd := child(t, "create", dir, childNameEnv+"="+fmt.Sprintf("proc%d", i), childCountEnv+"="+strconv.Itoa(perWriter))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}

	var wg sync.WaitGroup
	errs := make(chan error, goroutines+4)
	wins := make(chan bool, goroutines)
	for i := range goroutines {
		wg.Go(func() {
			prefix := fmt.Sprintf("gor%d", i)
			if err := createMany(s, prefix, perWriter); err != nil {
				errs <- err
				return
			}
			won, err := createContended(s, prefix)
			if err != nil {
				errs <- err
				return
			}
			wins <- won
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				items, _, err := s.List(ctx, org, 0, "")
				if err != nil {
					errs <- err
					return
				}
				for _, m := range items {
					_, v, err := s.Get(ctx, org, m.Name)
					if err != nil {
						errs <- err
						return
					}
					if err := checkValue(m.Name, v.Bytes()); err != nil {
						errs <- err
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
		})
	}

	wg.Wait()
	winners := 0
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "child %d: %s", i, outs[i])
		if strings.TrimSpace(outs[i].String()) == "true" {
			winners++
		}
	}
	close(stop)
	readers.Wait()
	close(errs)
	close(wins)
	for err := range errs {
		assert.NoError(t, err)
	}
	for won := range wins {
		if won {
			winners++
		}
	}
	assert.Equal(t, 1, winners, "exactly one writer creates the contended name")

	names, temps := checkStore(t, dir)
	assert.Len(t, names, (procs+goroutines)*perWriter+1)
	assert.Zero(t, temps, "no temporary file is left")
	items, next, err := s.List(ctx, org, 0, "")
	require.NoError(t, err)
	assert.Empty(t, next)
	assert.Len(t, items, len(names))
	assert.Equal(t, os.FileMode(0o700), mode(t, dir))
	assert.Equal(t, os.FileMode(0o700), mode(t, filepath.Join(dir, "secrets")))
}

// A writer killed at random points never leaves a torn record: every
// visible record decodes and holds a whole value, of the old generation or
// the new.
func TestKilledWriterLeavesNoTornRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir)
	require.NoError(t, err)
	_, err = s.Create(ctx, org, "before", manage.TypeRegular, secret.New(valueFor("before", 0)))
	require.NoError(t, err)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 6 {
		cmd := child(t, "churn", dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err := cmd.Wait()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "round %d: %v %s", round, err, stderr.String())
		require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "round %d: the child died early: %s", round, stderr.String())

		names, temps := checkStore(t, dir)
		assert.Contains(t, names, "before")
		t.Logf("round %d: %d records, %d temporary files", round, len(names), temps)
		items, _, err := s.List(ctx, org, 0, "")
		require.NoError(t, err)
		for _, m := range items {
			_, v, err := s.Get(ctx, org, m.Name)
			if manage.IsNotFound(err) {
				continue
			}
			require.NoError(t, err)
			assert.NoError(t, checkValue(m.Name, v.Bytes()))
		}
	}
	names, _ := checkStore(t, dir)
	assert.Greater(t, len(names), 1, "the child wrote something")
	_, err = s.Create(ctx, org, "after", manage.TypeRegular, secret.New(valueFor("after", 0)))
	assert.NoError(t, err, "the store still takes writes")
}
