package httpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what a server may send before the body.
const (
	maxLine    = 16 << 10 // a status or header line
	maxHeaders = 200      // header fields in one response
	maxHead    = 64 << 10 // the status line and every header together
	maxInterim = 8        // 1xx answers skipped before the real one
)

// ErrTooLarge is a response body bigger than the request's Limit. The body
// is not read, and the connection is closed.
var ErrTooLarge = errors.New("the answer is larger than the limit")

// ProtocolError is a response that does not follow HTTP/1.1. It never
// quotes what the server sent: a response can hold a secret's value.
type ProtocolError struct{ What string }

func (e *ProtocolError) Error() string { return "malformed HTTP response: " + e.What }

func protocolErr(format string, args ...any) error {
	return &ProtocolError{What: fmt.Sprintf(format, args...)}
}

// appendRequest appends req's head and body as HTTP/1.1 writes them.
// target is the request-target: the path and query, or the whole URL for a
// plain-HTTP request through a proxy. extra holds fields the client adds
// (Proxy-Authorization).
func appendRequest(b []byte, req *Request, target string, extra []Field) ([]byte, error) {
	if !isToken(req.Method) {
		return b, fmt.Errorf("the method %q is not an HTTP token", req.Method)
	}
	if target == "" || strings.ContainsAny(target, " \r\n") {
		return b, errors.New("the request target is empty or holds a space or a line break")
	}
	host := req.URL.Host
	if host == "" || strings.ContainsAny(host, " \r\n") {
		return b, errors.New("the URL has no host, or a host with a space or a line break")
	}
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	for _, fields := range [2][]Field{req.Header, extra} {
		for _, f := range fields {
			if !isToken(f.Name) {
				return b, fmt.Errorf("the header name %q is not an HTTP token", f.Name)
			}
			switch strings.ToLower(f.Name) {
			case "host", "content-length", "transfer-encoding", "connection":
				return b, fmt.Errorf("the header field %s is the client's to write", f.Name)
			}
			if strings.ContainsAny(f.Value, "\r\n\x00") {
				return b, fmt.Errorf("the value of header %s holds a line break or a NUL", f.Name)
			}
			b = append(b, f.Name...)
			b = append(b, ": "...)
			b = append(b, f.Value...)
			b = append(b, "\r\n"...)
		}
	}
	if req.Body != nil || req.Method == "POST" || req.Method == "PUT" || req.Method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, req.Body...), nil
}

// readResponse reads one response to a request with the given method. It
// skips interim (1xx) answers. keep says the connection may carry the next
// response; it is false after any error.
func readResponse(br *bufio.Reader, method string, limit int64) (resp *Response, keep bool, err error) {
	for interim := 0; ; interim++ {
		resp, keep, err = readHead(br)
		if err != nil {
			return nil, false, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == 101 {
			break
		}
		if interim == maxInterim {
			return nil, false, protocolErr("more than %d interim (1xx) answers", maxInterim)
		}
	}
	cl, hasCL, err := contentLength(resp)
	if err != nil {
		return nil, false, err
	}
	tes := 0
	te := ""
	for _, f := range resp.Header {
		if strings.EqualFold(f.Name, "Transfer-Encoding") {
			tes++
			te = f.Value
		}
	}
	hasTE := tes > 0
	switch {
	case hasTE && resp.minor == 0:
		return nil, false, protocolErr("a Transfer-Encoding in an HTTP/1.0 answer")
	case tes > 1 || hasTE && !strings.EqualFold(strings.TrimSpace(te), "chunked"):
		return nil, false, protocolErr("the transfer coding is not chunked alone")
	case hasTE && hasCL:
		// RFC 9112 section 6.3: chunked wins, and the connection cannot be
		// trusted with another answer.
		keep = false
	}
	if method == "HEAD" || resp.StatusCode == 204 || resp.StatusCode == 304 ||
		method == "CONNECT" && resp.StatusCode/100 == 2 {
		return resp, keep, nil
	}
	if resp.StatusCode == 101 {
		return nil, false, protocolErr("a switch of protocols (101) that was not asked for")
	}
	if limit <= 0 {
		limit = DefaultLimit
	}

	switch {
	case hasTE:
		resp.Body, err = readChunked(br, limit)
	case hasCL:
		if cl > limit {
			return nil, false, ErrTooLarge
		}
		// Read in steps: a length the server declares is not memory given
		// away before its bytes come.
		body := make([]byte, 0, min(cl, 64<<10))
		for int64(len(body)) < cl && err == nil {
			step := min(cl-int64(len(body)), 1<<20)
			body = append(body, make([]byte, step)...)
			var n int
			n, err = io.ReadFull(br, body[len(body)-int(step):])
			body = body[:len(body)-int(step)+n]
		}
		resp.Body = body
		if err != nil {
			err = protocolErr("the body ended after %d of %d bytes", len(body), cl)
		}
	default:
		// No length: the body runs to the end of the connection.
		keep = false
		resp.Body, err = readAll(br, limit)
	}
	if err != nil {
		return nil, false, err
	}
	return resp, keep, nil
}

// readHead reads a status line and the header fields after it.
func readHead(br *bufio.Reader) (*Response, bool, error) {
	budget := maxHead
	line, err := readLine(br, &budget)
	if err != nil {
		if err == io.EOF {
			return nil, false, errNoAnswer
		}
		return nil, false, err
	}
	resp := &Response{}
	var minor int
	resp.StatusCode, minor, err = parseStatusLine(line)
	resp.minor = minor
	if err != nil {
		return nil, false, err
	}
	for {
		line, err := readLine(br, &budget)
		if err == io.EOF {
			return nil, false, protocolErr("the header ended early")
		}
		if err != nil {
			return nil, false, err
		}
		if len(line) == 0 {
			break
		}
		if len(resp.Header) == maxHeaders {
			return nil, false, protocolErr("more than %d header fields", maxHeaders)
		}
		f, err := parseField(line)
		if err != nil {
			return nil, false, err
		}
		resp.Header = append(resp.Header, f)
	}
	keep, closes := minor >= 1, false
	for _, f := range resp.Header {
		if !strings.EqualFold(f.Name, "Connection") {
			continue
		}
		for _, tok := range strings.Split(f.Value, ",") {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "close":
				closes = true
			case "keep-alive":
				keep = true
			}
		}
	}
	return resp, keep && !closes, nil
}

// parseField reads one "name: value" line of a header or a trailer.
func parseField(line []byte) (Field, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return Field{}, protocolErr("a folded header line")
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !isToken(string(name)) {
		return Field{}, protocolErr("a header line that is not name: value")
	}
	value = bytes.Trim(value, " \t")
	if bytes.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return Field{}, protocolErr("a header value with a control character")
	}
	return Field{Name: string(name), Value: string(value)}, nil
}

// parseStatusLine reads "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (code, minor int, err error) {
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/1."))
	if !ok || len(rest) < 5 || rest[0] < '0' || rest[0] > '9' || rest[1] != ' ' {
		return 0, 0, protocolErr("the status line is not HTTP/1.x")
	}
	minor = int(rest[0] - '0')
	digits := rest[2:5]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, 0, protocolErr("the status code is not three digits")
		}
	}
	if len(rest) > 5 && rest[5] != ' ' {
		return 0, 0, protocolErr("the status code is not three digits")
	}
	code = int(digits[0]-'0')*100 + int(digits[1]-'0')*10 + int(digits[2]-'0')
	if code < 100 {
		return 0, 0, protocolErr("the status code %d is below 100", code)
	}
	return code, minor, nil
}

// contentLength reads the Content-Length fields, which must agree.
func contentLength(resp *Response) (n int64, ok bool, err error) {
	first := ""
	for _, f := range resp.Header {
		if !strings.EqualFold(f.Name, "Content-Length") {
			continue
		}
		if ok && f.Value != first {
			return 0, false, protocolErr("two Content-Length fields disagree")
		}
		v, err := parseDecimal(f.Value)
		if err != nil {
			return 0, false, protocolErr("the Content-Length is not a number")
		}
		n, ok, first = v, true, f.Value
	}
	return n, ok, nil
}

func parseDecimal(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, errors.New("bad number")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, nil
}

// readChunked reads a chunked body and the trailer after it. Each line is
// bounded on its own, and the trailer as a header is.
func readChunked(br *bufio.Reader, limit int64) ([]byte, error) {
	var body []byte
	for {
		budget := maxLine
		line, err := readCRLF(br, &budget)
		if err == io.EOF {
			return nil, protocolErr("the chunked body ended early")
		}
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";")) // chunk extensions are ignored
		size = bytes.TrimRight(size, " \t")
		if len(size) == 0 || len(size) > 15 || bytes.ContainsFunc(size, func(r rune) bool { return !isHexRune(r) }) {
			return nil, protocolErr("a chunk size that is not a hex number")
		}
		n, _ := strconv.ParseInt(string(size), 16, 64)
		if n == 0 {
			break
		}
		if int64(len(body))+n > limit {
			return nil, ErrTooLarge
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(br, body[start:]); err != nil {
			return nil, protocolErr("the chunked body ended early")
		}
		budget = maxLine
		if crlf, err := readCRLF(br, &budget); err != nil || len(crlf) != 0 {
			return nil, protocolErr("a chunk not followed by a line end")
		}
	}
	budget := maxHead
	for { // the trailer: fields until an empty line
		line, err := readCRLF(br, &budget)
		if err == io.EOF {
			return nil, protocolErr("the chunked body's trailer ended early")
		}
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return body, nil
		}
		if _, err := parseField(line); err != nil {
			return nil, err
		}
	}
}

func isHexRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

// readAll reads to the end of the connection, at most limit bytes.
func readAll(br *bufio.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(br, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return body, nil
}

// readLine reads one line, without its CRLF (or bare LF), charging budget
// for it. It returns io.EOF only when nothing at all was read.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, _, err := readLineCR(br, budget)
	return line, err
}

// readCRLF reads one line that must end in CRLF, as chunked framing must.
func readCRLF(br *bufio.Reader, budget *int) ([]byte, error) {
	line, cr, err := readLineCR(br, budget)
	if err == nil && !cr {
		return nil, protocolErr("a chunked body's line ends in a bare LF")
	}
	return line, err
}

// readLineCR is readLine, and whether the line ended in CRLF.
func readLineCR(br *bufio.Reader, budget *int) ([]byte, bool, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if len(line)+len(frag) > maxLine || *budget < 0 {
			return nil, false, protocolErr("a line longer than %d bytes, or a header over %d", maxLine, maxHead)
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = line[:len(line)-1]
			cr := bytes.HasSuffix(line, []byte("\r"))
			return bytes.TrimSuffix(line, []byte("\r")), cr, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) == 0:
			return nil, false, io.EOF
		case err == io.EOF:
			return nil, false, protocolErr("the connection closed in the middle of a line")
		default:
			return nil, false, err
		}
	}
}

// isToken reports whether s is an HTTP token (RFC 9110): a method or a
// field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
