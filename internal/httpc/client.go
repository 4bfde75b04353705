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
// that is not idempotent (a create) gets a new connection of its own.
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
	// DialTimeout bounds each connection's dial with its proxy tunnel, and
	// then its TLS handshake (10 s each when 0).
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
	closes map[string]bool // hosts whose answers closed their connection
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
	for lost, again := 0, 0; ; {
		resp, err := c.once(ctx, req, wire, key, proxy)
		switch {
		case ctx.Err() != nil:
		case err == errNotSent && again < 100:
			again++ // never sent: safe for any request
			continue
		case !req.Idempotent:
		case err == errBehind && again < 100:
			again++
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
			if st := cn.state(); st.ok && st.n == 0 {
				idle = append(idle, cn)
			}
		}
	}
	c.mu.Unlock()
	for _, cn := range idle {
		cn.fail(errLost, errBehind)
	}
}

// The ways a connection fails its calls. errLost: it closed where the
// call's answer should have begun, after the call was written; an
// idempotent request is sent again, twice at most. errBehind: the call was
// queued behind another whose answer closed the connection (or whose caller
// gave up); an idempotent request is sent again without counting against
// it. errNotSent: the call's bytes never left, so any request may be sent
// again. errNoAnswer is the server closing the connection where an answer
// should begin.
var (
	errLost           = errors.New("the connection closed before the answer")
	errBehind   error = lostError{" (queued behind an answer that closed it)"}
	errNotSent  error = lostError{" (the request was not sent)"}
	errNoAnswer       = errors.New("the server closed the connection without answering")
)

// lostError is an errLost with a reason, made without fmt at init.
type lostError struct{ why string }

func (e lostError) Error() string { return errLost.Error() + e.why }
func (e lostError) Unwrap() error { return errLost }

// idleTimeout is how long a connection may sit unused before it is closed
// rather than used: a NAT or a proxy may have dropped it silently (a
// --watch run polls every few minutes), and a request written into a dead
// connection waits out its whole timeout.
var idleTimeout = 90 * time.Second // a variable for the tests

// call is one request waiting for its answer on a connection.
type call struct {
	method     string
	limit      int64
	idempotent bool
	done       chan result // buffered: the reader never blocks on it
}

type result struct {
	resp *Response
	err  error
}

// once queues the request on a connection and waits for its answer. The
// bytes are written by another goroutine, so that a server that stops
// reading cannot keep the caller past its context.
func (c *Client) once(ctx context.Context, req *Request, wire []byte, key string, proxy *url.URL) (*Response, error) {
	cl := &call{method: req.Method, limit: req.Limit, idempotent: req.Idempotent, done: make(chan result, 1)}
	cn, fresh, stale, err := c.enqueue(key, req, cl, wire, proxy)
	for _, s := range stale {
		s.fail(errLost, errBehind)
	}
	if err != nil {
		return nil, err
	}
	if fresh {
		go cn.dial()
	} else {
		go cn.flush()
	}
	select {
	case r := <-cl.done:
		return r.resp, r.err
	case <-ctx.Done():
		select {
		case r := <-cl.done: // answered as the context ended
			return r.resp, r.err
		default:
		}
		// HTTP/1.1 cannot abandon one answer of a queue: the connection
		// goes, and the requests queued with this one go to another. (A
		// request that is not idempotent is never queued with another.)
		cn.abandon(cl)
		return nil, ctx.Err()
	}
}

// enqueue picks a connection for req and queues cl and its bytes there:
// for an idempotent request, an idle one, else a new one while under
// MaxConnsPerHost, else (to a host that keeps its connections open) the
// least busy one that holds no request that is not idempotent; for any
// other request, a new one. fresh says the
// connection is new and must be dialled; stale are idle connections too
// old to use, for the caller to close.
func (c *Client) enqueue(key string, req *Request, cl *call, wire []byte, proxy *url.URL) (cn *conn, fresh bool, stale []*conn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	maxConns := c.MaxConnsPerHost
	if maxConns <= 0 {
		maxConns = 2
	}
	maxPipe := c.MaxPipeline
	if maxPipe <= 0 {
		maxPipe = 64
	}
	now := time.Now()
	var least *conn
	leastN, live := 0, 0
	for _, x := range c.pools[key] {
		st := x.state()
		switch {
		case !st.ok:
			continue
		case st.n == 0 && now.Sub(st.idleSince) > idleTimeout:
			stale = append(stale, x)
			continue
		}
		live++
		// A request that is not idempotent gets a connection of its own:
		// on a reused one, a server that closed it as the request went out
		// would leave it unknown whether the request was taken.
		if st.n == 0 && req.Idempotent && x.push(cl, wire) {
			return x, false, stale, nil
		}
		if st.unsafe == 0 && (least == nil || st.n < leastN) {
			least, leastN = x, st.n
		}
	}
	pipeline := req.Idempotent && !c.closes[key]
	if pipeline && least != nil && live >= maxConns && leastN < maxPipe && least.push(cl, wire) {
		return least, false, stale, nil
	}
	cn = &conn{client: c, key: key, url: req.URL, proxy: proxy}
	cn.push(cl, wire)
	if c.pools == nil {
		c.pools = map[string][]*conn{}
	}
	c.pools[key] = append(c.pools[key], cn)
	return cn, true, stale, nil
}

// closing notes a host whose answer closed its connection: its requests
// are not pipelined any more, since every queue behind such an answer is
// sent again.
func (c *Client) closing(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closes == nil {
		c.closes = map[string]bool{}
	}
	c.closes[key] = true
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
// requests were written. Lock order: Client.mu, then conn.mu; wmu is never
// held with either.
type conn struct {
	client *Client
	key    string
	url    *url.URL
	proxy  *url.URL

	mu        sync.Mutex
	nc        net.Conn // nil while dialling
	pending   []*call
	out       []byte    // written by the next flush
	unsent    int       // the calls at the end of pending whose bytes are in out
	unsafe    int       // the calls in pending that are not idempotent
	idleSince time.Time // when pending last became empty
	err       error     // set once, when the connection is done

	wmu sync.Mutex // held by the one flush that writes
}

type connState struct {
	n, unsafe int
	idleSince time.Time
	ok        bool
}

func (cn *conn) state() connState {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return connState{n: len(cn.pending), unsafe: cn.unsafe, idleSince: cn.idleSince, ok: cn.err == nil}
}

// push queues cl and its request's bytes, unless the connection is done.
func (cn *conn) push(cl *call, wire []byte) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.err != nil {
		return false
	}
	cn.pending = append(cn.pending, cl)
	cn.out = append(cn.out, wire...)
	cn.unsent++
	if !cl.idempotent {
		cn.unsafe++
	}
	return true
}

// flush writes what is queued. Bytes go out in the order they were queued:
// each flush takes the whole queue under the write lock. The calls it takes
// count as sent from then on, even when the write fails part way.
func (cn *conn) flush() {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.mu.Lock()
	b, nc := cn.out, cn.nc
	if nc == nil || cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.out, cn.unsent = nil, 0
	cn.mu.Unlock()
	if len(b) == 0 {
		return
	}
	if _, err := nc.Write(b); err != nil {
		cn.fail(errLost, errBehind)
	}
}

// fail closes the connection: of the calls written, the first gets first
// and the ones behind it rest; the calls not written get errNotSent.
func (cn *conn) fail(first, rest error) { cn.close(first, rest, false) }

// failAll closes the connection and gives every call err (a failed dial).
func (cn *conn) failAll(err error) { cn.close(err, err, true) }

func (cn *conn) close(first, rest error, all bool) {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.err = first
	pending, nc, unsent := cn.pending, cn.nc, cn.unsent
	cn.pending, cn.out = nil, nil
	cn.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
	cn.client.drop(cn)
	for i, cl := range pending {
		err := rest
		switch {
		case all:
			err = first
		case i >= len(pending)-unsent:
			err = errNotSent
		case i == 0:
			err = first
		}
		cl.done <- result{err: err}
	}
}

// abandon closes the connection for a call whose caller gave up, unless
// the call is answered already.
func (cn *conn) abandon(cl *call) {
	cn.mu.Lock()
	queued := false
	for _, x := range cn.pending {
		queued = queued || x == cl
	}
	cn.mu.Unlock()
	if queued {
		cn.fail(errBehind, errBehind)
	}
}

// dial makes the connection, then writes what is queued and starts reading.
// Its deadlines are its own: the requests queued on it have their contexts.
func (cn *conn) dial() {
	nc, err := cn.client.connect(context.Background(), cn.url, cn.proxy)
	if err != nil {
		cn.failAll(err)
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
// connection closes. Bytes that come before the head call was written are
// a protocol error (or a server closing an idle connection).
func (cn *conn) read(br *bufio.Reader) {
	for {
		_, err := br.Peek(1)
		cn.mu.Lock()
		if cn.err != nil {
			cn.mu.Unlock()
			return
		}
		if len(cn.pending)-cn.unsent == 0 {
			cn.mu.Unlock()
			cn.fail(errLost, errBehind) // only calls not written, if any: errNotSent
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
		if !cl.idempotent {
			cn.unsafe--
		}
		if len(cn.pending) == 0 {
			cn.idleSince = time.Now()
		}
		cn.mu.Unlock()
		cl.done <- result{resp: resp, err: err}
		if err != nil || !keep {
			if err == nil {
				cn.client.closing(cn.key)
			}
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
func (c *Client) connect(parent context.Context, u, proxy *url.URL) (net.Conn, error) {
	timeout := c.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
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
	hctx, hcancel := context.WithTimeout(parent, timeout) // a budget of its own, as net/http's TLSHandshakeTimeout
	defer hcancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}
