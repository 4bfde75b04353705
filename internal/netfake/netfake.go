// Package netfake is a fake network for tests and benchmarks: a TCP proxy
// that adds a fixed delay to every round trip, as a distant server would,
// without limiting how much is in flight.
package netfake

import (
	"net"
	"testing"
	"time"
)

// Proxy is a running latency proxy.
type Proxy struct {
	Port int
	l    net.Listener
}

// Latency starts a proxy to target (host:port) for the test, adding rtt to
// every round trip: half on the way there, half on the way back.
func Latency(t testing.TB, target string, rtt time.Duration) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Port: l.Addr().(*net.TCPAddr).Port, l: l}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go delayLine(in, out, rtt/2)
			go delayLine(out, in, rtt/2)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

// delayLine copies from src to dst, each chunk d after it arrived.
func delayLine(src, dst net.Conn, d time.Duration) {
	type chunk struct {
		b   []byte
		due time.Time
	}
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(d)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}
