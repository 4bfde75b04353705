package httpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is a real net/http server (TLS unless plain) that counts the
// connections it accepted.
type server struct {
	*httptest.Server
	conns atomic.Int32
}

func newServer(t *testing.T, plain bool, h http.HandlerFunc) *server {
	s := &server{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if plain {
		s.Start()
	} else {
		s.StartTLS()
	}
	t.Cleanup(s.Close)
	return s
}

// client trusts s's certificate.
func (s *server) client() *Client {
	c := &Client{}
	if s.Certificate() != nil {
		pool := x509.NewCertPool()
		pool.AddCert(s.Certificate())
		c.TLS = &tls.Config{RootCAs: pool}
	}
	return c
}

func (s *server) get(path string) *Request {
	u, _ := url.Parse(s.URL + path)
	return &Request{Method: "GET", URL: u, Idempotent: true}
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	fmt.Fprintf(w, "%s %s %s %q", r.Method, r.URL.RequestURI(), r.Header.Get("X-Test"), body)
}

func TestRequestsAndAnswersOverTLS(t *testing.T) {
	s := newServer(t, false, echo)
	c := s.client()
	ctx := context.Background()

	resp, err := c.Do(ctx, &Request{Method: "GET", URL: s.get("/a?b=c").URL, Header: []Field{{"X-Test", "1"}}})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, `GET /a?b=c 1 ""`, string(resp.Body))
	assert.Equal(t, "GET", resp.Get("x-method"), "fields are found in any case")

	u, _ := url.Parse(s.URL + "/p")
	resp, err = c.Do(ctx, &Request{Method: "POST", URL: u, Body: []byte("payload"), Idempotent: true}) // a read that uses POST
	require.NoError(t, err)
	assert.Equal(t, `POST /p  "payload"`, string(resp.Body))
	assert.EqualValues(t, 1, s.conns.Load(), "one keep-alive connection for calls one after another")

	resp, err = c.Do(ctx, &Request{Method: "POST", URL: u})
	require.NoError(t, err)
	assert.Equal(t, `POST /p  ""`, string(resp.Body), "a POST without a body says Content-Length: 0")
	assert.EqualValues(t, 2, s.conns.Load(), "a request that is not idempotent gets a connection of its own")
}

func TestStatusesAreAnswersNotErrors(t *testing.T) {
	s := newServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(429)
	})
	resp, err := s.client().Do(context.Background(), s.get("/"))
	require.NoError(t, err)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "3", resp.Get("Retry-After"))
	assert.Empty(t, resp.Body)
}

// TestConcurrentLookupsArePipelined: 100 lookups at once use at most two
// connections, and every answer is the answer to its own request.
func TestConcurrentLookupsArePipelined(t *testing.T) {
	s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		fmt.Fprint(w, r.URL.Path)
	})
	c := s.client()
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/secret-%03d", i)
			resp, err := c.Do(context.Background(), s.get(path))
			switch {
			case err != nil:
				errs[i] = err
			case string(resp.Body) != path:
				errs[i] = fmt.Errorf("%s got the answer of %s", path, resp.Body)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, s.conns.Load(), int32(2))
}

func TestAnIdleConnectionTheServerClosedIsReplaced(t *testing.T) {
	s := newServer(t, false, echo)
	c := s.client()
	_, err := c.Do(context.Background(), s.get("/one"))
	require.NoError(t, err)
	s.CloseClientConnections()
	time.Sleep(20 * time.Millisecond) // the reader sees the close
	resp, err := c.Do(context.Background(), s.get("/two"))
	require.NoError(t, err)
	assert.Contains(t, string(resp.Body), "/two")
	assert.EqualValues(t, 2, s.conns.Load())
}

// rawServer accepts connections and hands each to fn.
func rawServer(t *testing.T, fn func(net.Conn)) *url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	u, _ := url.Parse("http://" + l.Addr().String())
	return u
}

// TestALostAnswerIsRetriedOnlyWhenIdempotent: the first connection reads
// the request and closes without answering.
func TestALostAnswerIsRetriedOnlyWhenIdempotent(t *testing.T) {
	var requests atomic.Int32
	u := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		if requests.Add(1) == 1 {
			return // no answer
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := &Client{}
	resp, err := c.Do(context.Background(), &Request{Method: "GET", URL: u, Idempotent: true})
	require.NoError(t, err)
	assert.Equal(t, "ok", string(resp.Body))
	assert.EqualValues(t, 2, requests.Load())

	requests.Store(0)
	_, err = c.Do(context.Background(), &Request{Method: "POST", URL: u, Body: []byte("create")})
	require.ErrorIs(t, err, errLost)
	time.Sleep(20 * time.Millisecond)
	assert.EqualValues(t, 1, requests.Load(), "a create is never sent twice")
}

func TestBodiesChunkedAndOverTheLimit(t *testing.T) {
	big := strings.Repeat("x", 5000)
	s := newServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			io.WriteString(w, big[:1000])
			w.(http.Flusher).Flush() // no Content-Length: chunked
			io.WriteString(w, big[1000:])
			return
		}
		w.Header().Set("Content-Length", "5000")
		io.WriteString(w, big)
	})
	c := s.client()
	for _, path := range []string{"/chunked", "/length"} {
		req := s.get(path)
		resp, err := c.Do(context.Background(), req)
		require.NoError(t, err, path)
		assert.Equal(t, big, string(resp.Body), path)
		req.Limit = 4999
		_, err = c.Do(context.Background(), req)
		assert.ErrorIs(t, err, ErrTooLarge, path)
	}
}

// TestAGivenUpRequestLeavesTheOthers: one request's deadline passes while
// its answer is slow; the requests queued with it still get theirs.
func TestAGivenUpRequestLeavesTheOthers(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprint(w, r.URL.Path)
	})
	defer close(release)
	c := s.client()
	c.MaxConnsPerHost = 1
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, s.get("/slow"))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	resp, err := c.Do(context.Background(), s.get("/fast")) // queued behind /slow
	require.NoError(t, err)
	assert.Equal(t, "/fast", string(resp.Body))
	assert.ErrorIs(t, <-done, context.DeadlineExceeded)
}

func TestDialAndTLSErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	u, _ := url.Parse("http://" + addr)
	_, err = (&Client{}).Do(context.Background(), &Request{Method: "GET", URL: u, Idempotent: true})
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	s := newServer(t, false, echo)
	_, err = (&Client{}).Do(context.Background(), s.get("/")) // not trusted
	var verr *tls.CertificateVerificationError
	assert.ErrorAs(t, err, &verr)
}

func TestBadRequestsAreRefusedBeforeSending(t *testing.T) {
	s := newServer(t, true, echo)
	c := s.client()
	for _, req := range []*Request{
		{Method: "GET\r\nX", URL: s.get("/").URL},
		{Method: "GET", URL: s.get("/").URL, Header: []Field{{"X", "a\r\nInjected: 1"}}},
		{Method: "GET", URL: s.get("/").URL, Header: []Field{{"Bad Name", "v"}}},
		{Method: "GET", URL: &url.URL{Scheme: "ftp", Host: "x"}},
	} {
		_, err := c.Do(context.Background(), req)
		assert.Error(t, err, req.Method)
	}
	assert.Zero(t, s.conns.Load(), "nothing was sent")
}

// connectProxy is an in-test HTTP proxy that opens CONNECT tunnels and
// answers plain requests in absolute form itself. It checks the Basic
// credentials user:pass.
type connectProxy struct {
	url     *url.URL
	tunnels atomic.Int32
	plain   atomic.Int32
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	u := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Proxy-Authorization") != "Basic dXNlcjpwYXNz" {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if req.Method != "CONNECT" {
			p.plain.Add(1)
			body := "proxied " + req.RequestURI
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			return
		}
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			return
		}
		defer up.Close()
		p.tunnels.Add(1)
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go io.Copy(up, br)
		io.Copy(c, up)
	})
	u.User = url.UserPassword("user", "pass")
	p.url = u
	return p
}

func TestThroughAProxy(t *testing.T) {
	p := newConnectProxy(t)
	s := newServer(t, false, echo)
	c := s.client()
	c.Proxy = func(*url.URL) (*url.URL, error) { return p.url, nil }
	resp, err := c.Do(context.Background(), s.get("/tunnelled"))
	require.NoError(t, err)
	assert.Contains(t, string(resp.Body), "GET /tunnelled")
	assert.EqualValues(t, 1, p.tunnels.Load())

	u, _ := url.Parse("http://example.invalid:8080/x?y=1")
	resp, err = c.Do(context.Background(), &Request{Method: "GET", URL: u, Idempotent: true})
	require.NoError(t, err)
	assert.Equal(t, "proxied http://example.invalid:8080/x?y=1", string(resp.Body), "absolute form")

	bad := *p.url
	bad.User = url.UserPassword("user", "wrong")
	c2 := s.client()
	c2.Proxy = func(*url.URL) (*url.URL, error) { return &bad, nil }
	_, err = c2.Do(context.Background(), s.get("/"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "407")
	assert.NotContains(t, err.Error(), "wrong", "the proxy's password is never shown")
}

func TestProxyFromEnvironment(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		env  func(string) string
		url  string
		want string // "" for no proxy
	}{
		{env("HTTPS_PROXY", "proxy:3128"), "https://api.example.com", "http://proxy:3128"},
		{env("https_proxy", "http://p:1"), "https://api.example.com", "http://p:1"},
		{env("HTTP_PROXY", "http://p:1"), "https://api.example.com", ""},
		{env("HTTP_PROXY", "http://p:1"), "http://169.254.169.254/latest", "http://p:1"},
		{env("HTTP_PROXY", "http://p:1", "REQUEST_METHOD", "GET"), "http://a.example.com", ""},
		{env("HTTPS_PROXY", "http://p:1"), "https://127.0.0.1:6443", ""},
		{env("HTTPS_PROXY", "http://p:1"), "https://localhost", ""},
		{env("HTTPS_PROXY", "http://p:1"), "https://[::1]:6443", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "*"), "https://a.example.com", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "example.com"), "https://example.com", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "example.com"), "https://a.example.com", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "example.com"), "https://notexample.com", "http://p:1"},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", ".example.com"), "https://example.com", "http://p:1"},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "*.example.com"), "https://b.example.com", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "*example.com"), "https://example.com", "http://p:1"},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "example.com:8443"), "https://example.com", "http://p:1"},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "example.com:443"), "https://example.com", ""},
		{env("HTTPS_PROXY", "http://p:1", "no_proxy", "10.0.0.0/8, 192.168.1.5"), "https://10.96.0.1", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "10.0.0.0/8,192.168.1.5"), "https://192.168.1.5:443", ""},
		{env("HTTPS_PROXY", "http://p:1", "NO_PROXY", "10.0.0.0/8"), "https://11.0.0.1", "http://p:1"},
	} {
		u, _ := url.Parse(tc.url)
		got, err := FromEnvironment(tc.env)(u)
		require.NoError(t, err, tc.url)
		if tc.want == "" {
			assert.Nil(t, got, tc.url)
		} else if assert.NotNil(t, got, tc.url) {
			assert.Equal(t, tc.want, got.String(), tc.url)
		}
	}

	u, _ := url.Parse("https://api.example.com")
	_, err := FromEnvironment(env("HTTPS_PROXY", "socks5://user:secret@p:1080"))(u)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only http://")
	assert.NotContains(t, err.Error(), "secret")
}

func TestResponsesNeverQuoteTheServer(t *testing.T) {
	const canary = "CANARY-9f1c"
	u := rawServer(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 "+canary+"\r\nX: y\r\n"+canary+"\r\n\r\n")
	})
	_, err := (&Client{}).Do(context.Background(), &Request{Method: "GET", URL: u})
	var pe *ProtocolError
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.NotContains(t, err.Error(), canary)
}

// TestAServerThatStopsReadingCannotHoldTheCaller: a big body into a
// connection whose server reads no more; the caller's deadline ends the
// wait (the bytes are written by another goroutine).
func TestAServerThatStopsReadingCannotHoldTheCaller(t *testing.T) {
	var conns atomic.Int32
	u := rawServer(t, func(c net.Conn) {
		if conns.Add(1) > 1 {
			time.Sleep(10 * time.Second) // reads nothing
			return
		}
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			time.Sleep(10 * time.Second) // and reads nothing more
		}
	})
	c := &Client{}
	_, err := c.Do(context.Background(), &Request{Method: "GET", URL: u, Idempotent: true})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// An idempotent POST (a read) reuses the connection; a create would
	// get a new one, whose server reads nothing either.
	_, err = c.Do(ctx, &Request{Method: "POST", URL: u, Body: make([]byte, 32<<20), Idempotent: true})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// Not the server's 10 s: the margin is for copying 32 MiB under -race.
	assert.Less(t, time.Since(start), 6*time.Second, "the caller waited for the server")
}

// TestAGivenUpLookupNeverTakesACreateWithIt: a GET whose deadline passes
// while a slow POST is in flight to the same host, on one connection at
// most; the GET is never queued behind the POST, so the POST gets its
// answer.
func TestAGivenUpLookupNeverTakesACreateWithIt(t *testing.T) {
	s := newServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			time.Sleep(300 * time.Millisecond)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Fprint(w, r.Method)
	})
	c := s.client()
	c.MaxConnsPerHost = 1
	u, _ := url.Parse(s.URL + "/create")
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(context.Background(), &Request{Method: "POST", URL: u, Body: []byte("{}")})
		if err == nil && string(resp.Body) != "POST" {
			err = fmt.Errorf("answer %q", resp.Body)
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, s.get("/lookup"))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, <-done, "the create is answered")
}

func TestIdleConnectionsAreNotUsedAfterTheIdleTimeout(t *testing.T) {
	old := idleTimeout
	idleTimeout = 500 * time.Millisecond
	defer func() { idleTimeout = old }()
	s := newServer(t, true, echo)
	c := s.client()
	_, err := c.Do(context.Background(), s.get("/1"))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), s.get("/2"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.conns.Load(), "reused while fresh")
	time.Sleep(time.Second)
	_, err = c.Do(context.Background(), s.get("/3"))
	require.NoError(t, err)
	assert.EqualValues(t, 2, s.conns.Load(), "a new one after the idle timeout")
}

func TestManyChunks(t *testing.T) {
	u := rawServer(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		for range 20000 {
			b.WriteString("1\r\nx\r\n")
		}
		b.WriteString("0\r\n\r\n")
		io.WriteString(c, b.String())
	})
	resp, err := (&Client{}).Do(context.Background(), &Request{Method: "GET", URL: u})
	require.NoError(t, err)
	assert.Equal(t, 20000, len(resp.Body))
}

// TestHostsThatCloseEveryAnswerAreNotPipelined: with a server that closes
// after every answer, 150 lookups at once all get their answers (those
// queued behind each close are sent again, and once one close is seen no
// more are queued).
func TestHostsThatCloseEveryAnswerAreNotPipelined(t *testing.T) {
	s := newServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, r.URL.Path)
	})
	c := s.client()
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 150 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/%d", i)
			resp, err := c.Do(context.Background(), s.get(path))
			if err != nil || string(resp.Body) != path {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, bad.Load())
	assert.GreaterOrEqual(t, s.conns.Load(), int32(150), "one connection per answer")
}

func TestClientFieldsAreRefused(t *testing.T) {
	s := newServer(t, true, echo)
	for _, name := range []string{"Host", "content-length", "Transfer-Encoding", "Connection"} {
		_, err := s.client().Do(context.Background(), &Request{Method: "GET", URL: s.get("/").URL, Header: []Field{{name, "x"}}})
		assert.Error(t, err, name)
	}
	assert.Zero(t, s.conns.Load())
}
