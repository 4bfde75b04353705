// Package httpc is the HTTP/1.1 client of the remote backends (Kubernetes,
// AWS): the few calls they make, over keep-alive connections, with
// idempotent requests pipelined.
//
// It exists for start-up. Every container start pays for the package
// initialisation of everything linked into the binary, and net/http's
// (its HTTP/2 tables, gzip, mime, the header maps) costs about 100 k
// instructions, a third of a bare Go program's whole start, on every start,
// whether a remote backend is used or not. What the backends need is
// small: a request with a few header fields and a body in memory, and an
// answer read whole, up to a limit.
//
// A run's lookups start together. HTTP/2 would multiplex them over one
// connection; here they are pipelined instead: up to MaxConnsPerHost
// connections each carry a queue of idempotent requests, written back to
// back, whose answers come back in order (RFC 9112 section 9.3.2). A request
// that is not idempotent (a create) waits for no other on its connection.
// When a connection closes before answering a queued idempotent request,
// the request is sent again on a new one.
//
// No error holds what a server sent: a response can hold a secret's value.
package httpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultLimit is the largest body read when a request gives no Limit.
const DefaultLimit = 1 << 20

// Request is one HTTP request.
type Request struct {
	Method string
	URL    *url.URL
	// Header holds the request's fields, written in order. The client adds
	// Host and, for a body, Content-Length.
	Header []Field
	Body   []byte
	// Idempotent requests (RFC 9110 section 9.2.2, or a read that uses POST)
	// may queue behind others on a connection, and are sent again on a new
	// connection when theirs closes before answering.
	Idempotent bool
	// Limit is the largest body accepted (DefaultLimit when 0); a bigger
	// one is ErrTooLarge.
	Limit int64
}

// Field is one header field.
type Field struct{ Name, Value string }

// Response is an answer, read whole.
type Response struct {
	StatusCode int
	Header     []Field // as received
	Body       []byte

	minor int // the HTTP/1.x version of the answer
}

// Get is the value of the first field called name, in any case.
func (r *Response) Get(name string) string {
	v, _ := r.lookup(name)
	return v
}

func (r *Response) lookup(name string) (string, bool) {
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Client is a pool of connections. Its zero value is not usable; set the
// fields before the first Do, and change none after. It is safe for
// concurrent use.
type Client struct {
	// TLS configures https connections; nil is Go's defaults. ServerName
	// defaults to the URL's host; NextProtos is always http/1.1.
	TLS *tls.Config
	// Proxy picks the proxy for a URL; nil, or a nil URL, for none.
	Proxy func(*url.URL) (*url.URL, error)
	// DialTimeout bounds each connection's dial, proxy tunnel and TLS
	// handshake (10 s when 0).
	DialTimeout time.Duration
	// MaxConnsPerHost bounds the connections to one host (2 when 0). Past
	// it, idempotent requests queue on the least busy connection.
	MaxConnsPerHost int
	// MaxPipeline bounds the requests queued on one connection (64 when 0).
	MaxPipeline int
	// OnDial is called after each new connection is made; nil for none.
	OnDial func()

	mu     sync.Mutex
	pools  map[string][]*conn
	closed bool
}

// Do sends req and reads its answer. An answer with any status is a
// Response; an error is a failure to get one.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if req.URL == nil || req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, errors.New("the URL is not http or https")
	}
	var proxy *url.URL
	if c.Proxy != nil {
		p, err := c.Proxy(req.URL)
		if err != nil {
			return nil, err
		}
		proxy = p
	}
	target := req.URL.RequestURI()
	var extra []Field
	if proxy != nil && req.URL.Scheme == "http" {
		// A plain request goes to the proxy whole, in absolute form.
		u := *req.URL
		u.User, u.Fragment = nil, ""
		target = u.String()
		extra = proxyAuth(proxy)
	}
	wire, err := appendRequest(nil, req, target, extra)
	if err != nil {
		return nil, err
	}
	key := req.URL.Scheme + "://" + canonicalAddr(req.URL)
	if proxy != nil {
		key += " via " + proxy.String()
	}
	for lost, behind := 0, 0; ; {
		resp, err := c.once(ctx, req, wire, key, proxy)
		switch {
		case !req.Idempotent || ctx.Err() != nil:
		case errors.Is(err, errBehind) && behind < 100:
			behind++
			continue
		case errors.Is(err, errLost) && lost < 2:
			lost++
			continue
		}
		return resp, err
	}
}

// CloseIdle closes every connection with nothing queued.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	var idle []*conn
	for _, conns := range c.pools {
		for _, cn := range conns {
			if cn.queued() == 0 {
				idle = append(idle, cn)
			}
		}
	}
	c.mu.Unlock()
	for _, cn := range idle {
		cn.fail(errLost, errBehind)
	}
}

// errLost is a connection that closed where a request's answer should
// have begun; an idempotent request is sent again, twice at most.
// errBehind is a request queued behind another whose answer closed the
// connection (or whose caller gave up): it is sent again on a new one
// without counting against it. errNoAnswer is the server closing the
// connection where an answer should begin.
var (
	errLost           = errors.New("the connection closed before the answer")
	errBehind   error = behindError{}
	errNoAnswer       = errors.New("the server closed the connection without answering")
)

// behindError is errBehind: an errLost, made without fmt at init.
type behindError struct{}

func (behindError) Error() string {
	return errLost.Error() + " (queued behind an answer that closed it)"
}
func (behindError) Unwrap() error { return errLost }

// call is one request waiting for its answer on a connection.
type call struct {
	method string
	limit  int64
	done   chan result // buffered: the reader never blocks on it
}

type result struct {
	resp *Response
	err  error
}

// once queues the request on a connection and waits for its answer.
func (c *Client) once(ctx context.Context, req *Request, wire []byte, key string, proxy *url.URL) (*Response, error) {
	cl := &call{method: req.Method, limit: req.Limit, done: make(chan result, 1)}
	cn, fresh, err := c.enqueue(key, req, cl, wire, proxy)
	if err != nil {
		return nil, err
	}
	if fresh {
		go cn.dial()
	} else {
		cn.flush()
	}
	select {
	case r := <-cl.done:
		return r.resp, r.err
	case <-ctx.Done():
		// HTTP/1.1 cannot abandon one answer of a queue: the connection
		// goes, and the requests queued behind this one go to another.
		cn.fail(errBehind, errBehind)
		return nil, ctx.Err()
	}
}

// enqueue picks a connection for req and queues cl and its bytes there:
// an idle one, else a new one while under MaxConnsPerHost, else (for an
// idempotent request) the least busy one. fresh says the connection is new
// and must be dialled.
func (c *Client) enqueue(key string, req *Request, cl *call, wire []byte, proxy *url.URL) (*conn, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, false, errors.New("the client is closed")
	}
	maxConns := c.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = 2
	}
	maxPipe := c.MaxPipeline
	if maxPipe <= 0 {
		maxPipe = 64
	}
	var least *conn
	leastN := 0
	live := 0
	for _, cn := range c.pools[key] {
		n, ok := cn.state()
		if !ok {
			continue
		}
		live++
		if n == 0 && cn.push(cl, wire) {
			return cn, false, nil
		}
		if least == nil || n < leastN {
			least, leastN = cn, n
		}
	}
	if least != nil && live >= maxConns && req.Idempotent && leastN < maxPipe && least.push(cl, wire) {
		return least, false, nil
	}
	cn := &conn{client: c, key: key, url: req.URL, proxy: proxy}
	cn.push(cl, wire)
	if c.pools == nil {
		c.pools = map[string][]*conn{}
	}
	c.pools[key] = append(c.pools[key], cn)
	return cn, true, nil
}

// drop takes a closed connection out of its pool.
func (c *Client) drop(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conns := c.pools[cn.key]
	for i, x := range conns {
		if x == cn {
			c.pools[cn.key] = append(conns[:i:i], conns[i+1:]...)
			break
		}
	}
}

// conn is one connection and the calls queued on it, in the order their
// requests were written.
type conn struct {
	client *Client
	key    string
	url    *url.URL
	proxy  *url.URL

	mu      sync.Mutex
	nc      net.Conn // nil while dialling
	pending []*call
	out     []byte // written by the next flush
	err     error  // set once, when the connection is done

	wmu sync.Mutex // held by the one flush that writes
}

// state is the number of calls queued, and whether the connection is alive.
func (cn *conn) state() (int, bool) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return len(cn.pending), cn.err == nil
}

func (cn *conn) queued() int { n, _ := cn.state(); return n }

// push queues cl and its request's bytes, unless the connection is done.
func (cn *conn) push(cl *call, wire []byte) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.err != nil {
		return false
	}
	cn.pending = append(cn.pending, cl)
	cn.out = append(cn.out, wire...)
	return true
}

// flush writes what is queued. Bytes go out in the order they were queued:
// each flush takes the whole queue under the write lock.
func (cn *conn) flush() {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.mu.Lock()
	b, nc := cn.out, cn.nc
	if nc == nil || cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.out = nil
	cn.mu.Unlock()
	if len(b) == 0 {
		return
	}
	if _, err := nc.Write(b); err != nil {
		cn.fail(errLost, errBehind)
	}
}

// fail closes the connection: the first queued call gets first, the ones
// behind it rest.
func (cn *conn) fail(first, rest error) {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.err = first
	pending, nc := cn.pending, cn.nc
	cn.pending, cn.out = nil, nil
	cn.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
	cn.client.drop(cn)
	for i, cl := range pending {
		err := rest
		if i == 0 {
			err = first
		}
		cl.done <- result{err: err}
	}
}

// dial makes the connection, then writes what is queued and starts reading.
// Its deadline is its own: the requests queued on it have their contexts.
func (cn *conn) dial() {
	timeout := cn.client.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nc, err := cn.client.connect(ctx, cn.url, cn.proxy)
	if err != nil {
		cn.fail(err, err)
		return
	}
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		nc.Close()
		return
	}
	cn.nc = nc
	cn.mu.Unlock()
	if f := cn.client.OnDial; f != nil {
		f()
	}
	go cn.read(bufio.NewReaderSize(nc, 32<<10))
	cn.flush()
}

// read hands each answer to the call at the head of the queue, until the
// connection closes. Data when nothing is queued is a protocol error.
func (cn *conn) read(br *bufio.Reader) {
	for {
		_, err := br.Peek(1)
		cn.mu.Lock()
		if cn.err != nil {
			cn.mu.Unlock()
			return
		}
		if len(cn.pending) == 0 {
			cn.mu.Unlock()
			cn.fail(errLost, errBehind) // an idle connection the server closed, or stray bytes
			return
		}
		cl := cn.pending[0]
		cn.mu.Unlock()
		if err != nil {
			cn.fail(errLost, errBehind)
			return
		}
		resp, keep, err := readResponse(br, cl.method, cl.limit)
		if errors.Is(err, errNoAnswer) {
			cn.fail(errLost, errBehind)
			return
		}
		cn.mu.Lock()
		if cn.err != nil { // failed (a caller gave up) while reading
			cn.mu.Unlock()
			return
		}
		cn.pending = cn.pending[1:]
		cn.mu.Unlock()
		cl.done <- result{resp: resp, err: err}
		if err != nil || !keep {
			cn.fail(errBehind, errBehind)
			return
		}
	}
}

// canonicalAddr is the URL's host and port, with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// connect dials the URL's host (through the proxy when there is one) and,
// for https, shakes hands.
func (c *Client) connect(ctx context.Context, u, proxy *url.URL) (net.Conn, error) {
	var d net.Dialer
	d.KeepAlive = 30 * time.Second
	addr := canonicalAddr(u)
	var nc net.Conn
	var err error
	if proxy == nil {
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", canonicalAddr(proxy))
		if err == nil && u.Scheme == "https" {
			err = tunnel(ctx, nc, addr, proxy)
			if err != nil {
				nc.Close()
			}
		}
	}
	if err != nil || u.Scheme == "http" {
		return nc, err
	}
	cfg := &tls.Config{}
	if c.TLS != nil {
		cfg = c.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}
