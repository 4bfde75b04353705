package httpc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
)

// FuzzReadResponse checks the response reader against net/http's: it never
// panics, and whatever it accepts, net/http accepts with the same status
// and body. It may refuse what net/http takes (folded lines, transfer
// codings other than chunked), never the reverse of a disagreement.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=1\r\nx\r\n0\r\nTrailer: v\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, _, err := readResponse(bufio.NewReader(bytes.NewReader(data)), "GET", 1<<16)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, errNoAnswer) && err != io.ErrUnexpectedEOF {
				t.Fatalf("an error of an unknown kind: %v", err)
			}
			return
		}
		// net/http's Transport skips interim answers; ReadResponse returns them.
		br := bufio.NewReader(bytes.NewReader(data))
		ref, err := http.ReadResponse(br, nil)
		for err == nil && ref.StatusCode < 200 && ref.StatusCode != 101 {
			ref, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v)", err)
		}
		body, err := io.ReadAll(ref.Body)
		if err != nil {
			t.Fatalf("accepted a body net/http cannot read (%v)", err)
		}
		if ref.StatusCode != resp.StatusCode {
			t.Fatalf("status %d, net/http %d", resp.StatusCode, ref.StatusCode)
		}
		if !bytes.Equal(body, resp.Body) {
			t.Fatalf("body %q, net/http %q", resp.Body, body)
		}
	})
}
