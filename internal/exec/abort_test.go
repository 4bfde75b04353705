package exec

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
)

// TestSupervisorAbortsAWaitingPhase: before the start, a SIGTERM cancels
// the context of the phase that is waiting (a remote lookup), and the start
// ends with 128+N. Signals other than HUP, INT, QUIT and TERM do not
// abort a start.
func TestSupervisorAbortsAWaitingPhase(t *testing.T) {
	s := NewSupervisor(SupervisorOptions{})
	defer s.Close()

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1)) // not an abort
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.Aborted())

	ctx, stop := s.During(context.Background())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the waiting phase")
	}
	stop()
	err := s.Aborted()
	var e *exit.Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, 128+int(syscall.SIGTERM), e.Code)
	assert.Equal(t, err.Error(), s.Aborted().Error(), "the abort stays")
	_, err = s.Start(Command{Path: "/bin/true"})
	assert.Equal(t, 143, exit.CodeOf(err), "nothing starts once aborted")
}
