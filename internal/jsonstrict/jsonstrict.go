// Package jsonstrict decodes one JSON document strictly, with errors that
// never quote the input. It serves files that may hold secrets (local store
// records, Docker configs): encoding/json's own errors can echo a stray byte
// or a field name taken from the file, and a corrupt file may have value
// bytes there.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Decode reads exactly one JSON value from data into v. With
// disallowUnknown, an object field that v has no place for is an error.
// Errors say what is wrong and where (a byte offset, a field of v), never
// what the input holds.
func Decode(data []byte, v any, disallowUnknown bool) error {
	if !utf8.Valid(data) {
		return errors.New("not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("not valid JSON: it ends too early")
		case errors.As(err, &se):
			return fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
		case errors.As(err, &te):
			field := te.Field
			if field == "" {
				field = "the document"
			}
			// te.Value is "number 123", "string" and the like: keep the kind,
			// never the literal.
			got, _, _ := strings.Cut(te.Value, " ")
			return fmt.Errorf("%s is a JSON %s, want %s", field, got, kind(te.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("an unknown field (before byte %d)", dec.InputOffset())
		}
		return errors.New("not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

func kind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	}
	return goKind
}
