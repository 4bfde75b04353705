package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAbortCancelsAWaitingPhase: in supervise mode a SIGTERM cancels the
// context of the phase that is waiting (a remote lookup), and the start
// ends with 128+N. Other signals do not abort a start.
func TestAbortCancelsAWaitingPhase(t *testing.T) {
	abort := watchAbort()
	defer signal.Stop(abort.ch)

	abort.ch <- syscall.SIGHUP // not an abort
	require.NoError(t, abort.aborted())

	ctx, stop := abort.during(context.Background())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the waiting phase")
	}
	stop()
	err := abort.aborted()
	var ee *exitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 128+int(syscall.SIGTERM), ee.code)
	assert.Equal(t, err, abort.aborted(), "the abort stays")

	var none *startAbort
	assert.NoError(t, none.aborted(), "exec mode watches nothing")
	ctx, stop = none.during(context.Background())
	assert.NoError(t, ctx.Err())
	stop()
}

func TestMentionsSecretCommand(t *testing.T) {
	assert.True(t, mentionsSecretCommand([]string{"fe", "get", "secret"}))
	assert.True(t, mentionsSecretCommand([]string{"fe", "--store", "x", "delete", "secret", "n"}))
	assert.False(t, mentionsSecretCommand([]string{"fe", "--secret", "k"}))
	assert.False(t, mentionsSecretCommand([]string{"get"}), "argv[0] is not an argument")
	assert.False(t, mentionsSecretCommand(nil))
}
