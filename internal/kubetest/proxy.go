package kubetest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/netfake"
)

// Fault is what FaultProxy does to one request instead of, or before,
// passing it on.
type Fault struct {
	// Delay holds the request this long first (or until the client gives
	// up).
	Delay time.Duration
	// Status answers with this status instead of passing the request on;
	// 0 passes it on.
	Status int
	// RetryAfter is the Retry-After header of that answer.
	RetryAfter string
	// Body is that answer's body.
	Body string
}

// FaultProxy is a fake: a TLS reverse proxy in front of the real API
// server that delays, fails or throttles requests on demand. Everything it
// passes on is answered by the real server.
type FaultProxy struct {
	// URL is the proxy's https URL, with a certificate from the cluster's
	// CA (for 127.0.0.1, or for another name with MisnamedProxy).
	URL  string
	Port int

	mu       sync.Mutex
	queue    []Fault // for the next requests, in order
	always   *Fault  // for every request once the queue is empty
	requests []string
}

// FaultProxy starts a proxy for the test.
func (c *Cluster) FaultProxy(t testing.TB) *FaultProxy {
	return c.faultProxy(t, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
}

// MisnamedProxy is a FaultProxy whose certificate, from the right CA, is
// for another name than 127.0.0.1.
func (c *Cluster) MisnamedProxy(t testing.TB) *FaultProxy {
	return c.faultProxy(t, nil, []string{"not-the-api-server.example"})
}

func (c *Cluster) faultProxy(t testing.TB, ips []net.IP, names []string) *FaultProxy {
	t.Helper()
	certPEM, keyPEM, err := c.ServerCert(ips, names)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(c.Server())
	pool := x509.NewCertPool()
	pool.AddCert(c.ca)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	rp.ErrorLog = nil
	p := &FaultProxy{Port: l.Addr().(*net.TCPAddr).Port}
	p.URL = "https://127.0.0.1:" + strconv.Itoa(p.Port)
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := p.next(r.Method + " " + r.URL.Path)
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.Status != 0 {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *FaultProxy) next(req string) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, req)
	if len(p.queue) > 0 {
		f := p.queue[0]
		p.queue = p.queue[1:]
		return f
	}
	if p.always != nil {
		return *p.always
	}
	return Fault{}
}

// Then queues faults for the next requests, one each.
func (p *FaultProxy) Then(faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, faults...)
}

// Always applies f to every request once the queue is empty; nil stops.
func (p *FaultProxy) Always(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always = f
}

// Requests lists the requests seen, "METHOD /path", in order.
func (p *FaultProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// LatencyProxy is a fake network: a TCP proxy to the API server that adds
// rtt to every round trip (netfake.Latency).
func (c *Cluster) LatencyProxy(t testing.TB, rtt time.Duration) *netfake.Proxy {
	return netfake.Latency(t, c.Addr(), rtt)
}
