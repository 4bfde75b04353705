package resolver

import (
	"errors"
	"fmt"
)

// errNotFound is the sentinel behind NotFound and IsNotFound.
var errNotFound = errors.New("not found")

type notFoundError struct{ err error }

func (e *notFoundError) Error() string        { return e.err.Error() }
func (e *notFoundError) Unwrap() error        { return e.err }
func (e *notFoundError) Is(target error) bool { return target == errNotFound }

// NotFound returns an error that means "this backend does not have it": the
// chain moves on to the next scope or backend. format and args work as in
// fmt.Errorf (%w included); they name keys and paths, never a value.
func NotFound(format string, args ...any) error {
	return &notFoundError{err: fmt.Errorf(format, args...)}
}

// NotFoundText is NotFound with a plain message: no formatting, for the
// lookups every container start makes.
func NotFoundText(msg string) error {
	return &notFoundError{err: errors.New(msg)}
}

// NotFoundFunc is NotFound with a message that msg makes only when the
// error's text is read.
func NotFoundFunc(msg func() string) error {
	return &notFoundError{err: lazyError(msg)}
}

type lazyError func() string

func (f lazyError) Error() string { return f() }

// IsNotFound reports whether err, or an error it wraps, came from NotFound.
// Any other error stops the chain.
func IsNotFound(err error) bool {
	if _, ok := err.(*notFoundError); ok {
		return true // the common case, without errors.Is's interface assertions
	}
	return errors.Is(err, errNotFound)
}
