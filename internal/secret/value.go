// Package secret holds the one type that carries a secret's bytes through the
// shim. Every way of printing a Value prints its length, never its bytes, so
// a value that reaches a log field, an error or fmt by mistake stays hidden.
package secret

import (
	"fmt"
	"strconv"
)

// Value is a secret's raw bytes. Use Bytes to get them on purpose.
type Value struct {
	b []byte
}

// New wraps b. The Value keeps b; the caller must not change it afterwards.
func New(b []byte) Value { return Value{b: b} }

// Bytes returns the raw bytes. Only the code that hands a value to its
// final destination (a file, the child's environment, get --reveal) calls it.
func (v Value) Bytes() []byte { return v.b }

// Len is the value's length in bytes.
func (v Value) Len() int { return len(v.b) }

// Equal reports whether both values hold the same bytes.
func (v Value) Equal(o Value) bool { return string(v.b) == string(o.b) }

// String prints "<redacted N bytes>".
func (v Value) String() string { return "<redacted " + strconv.Itoa(len(v.b)) + " bytes>" }

// GoString keeps %#v from printing the bytes.
func (v Value) GoString() string { return v.String() }

// Format makes every fmt verb print the redacted form.
func (v Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// MarshalJSON prints the redacted form as a JSON string.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(v.String())), nil }

// MarshalText prints the redacted form.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.String()), nil }
