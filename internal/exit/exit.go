// Package exit is the shim's one vocabulary of exit codes: the constants,
// and the error that carries one. Every layer that decides a code wraps its
// error with Code; cmd/ maps any error to the process's exit code with
// CodeOf, once.
package exit

import (
	"errors"
	"fmt"
)

// The exit codes (SPEC section 6), in the order of the phases that give them.
const (
	OK            = 0
	Failure       = 1   // any other failure of a secret command
	Usage         = 2   // bad flags or configuration
	Invalid       = 65  // a bad spec or request, or a value that can't be set
	Unresolved    = 69  // a secret could not be resolved
	CantCreate    = 73  // the mount could not be written
	NotExecutable = 126 // the command can't be executed as asked
	NotFound      = 127 // the command was not found
	SignalBase    = 128 // plus N: signal N ended the command or aborted the start
)

// Error is an error that decides the exit code. An Error whose Err is nil
// carries a code passed through from the command: there is nothing to print.
type Error struct {
	Code int
	Err  error
	// Keys are the keys of the secrets that failed, when the error is about
	// some: for the fatal log line. Never a value.
	Keys []string
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// With gives err the exit code; a nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Errorf is With(code, fmt.Errorf(format, args...)).
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Silent is the command's own exit code, passed through: nothing to print.
func Silent(code int) error {
	if code == OK {
		return nil
	}
	return &Error{Code: code}
}

// IsSilent reports whether err only carries a code passed through.
func IsSilent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Err == nil
}

// CodeOf is the exit code for err: 0 for nil, the code of the outermost
// Error in its chain, else Failure.
func CodeOf(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failure
}
