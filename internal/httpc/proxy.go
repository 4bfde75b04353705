package httpc

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// FromEnvironment picks proxies as Go's and kubectl's clients do, from
// getenv: HTTPS_PROXY (or https_proxy) for https URLs, HTTP_PROXY (or
// http_proxy) for http ones, unless NO_PROXY (or no_proxy) names the host.
// An https URL never falls back to HTTP_PROXY; HTTP_PROXY is ignored under
// CGI (REQUEST_METHOD set); localhost and loopback addresses are never
// proxied. NO_PROXY is a comma-separated list of "*", IP addresses, CIDR
// ranges, and host names (which match their subdomains too; a leading "."
// or "*." matches only subdomains), each optionally with a ":port".
//
// A proxy is an http:// URL ("host:port" alone means http), optionally with
// user:password for Basic authentication.
func FromEnvironment(getenv func(string) string) func(*url.URL) (*url.URL, error) {
	either := func(upper, lower string) string {
		if v := getenv(upper); v != "" {
			return v
		}
		return getenv(lower)
	}
	httpsProxy := either("HTTPS_PROXY", "https_proxy")
	httpProxy := either("HTTP_PROXY", "http_proxy")
	if getenv("REQUEST_METHOD") != "" {
		httpProxy = ""
	}
	noProxy := parseNoProxy(either("NO_PROXY", "no_proxy"))
	return func(u *url.URL) (*url.URL, error) {
		raw, name := httpProxy, "HTTP_PROXY"
		if u.Scheme == "https" {
			raw, name = httpsProxy, "HTTPS_PROXY"
		}
		if raw == "" || !noProxy.useProxy(u) {
			return nil, nil
		}
		return parseProxy(name, raw)
	}
}

// parseProxy reads a proxy setting. Its text is not quoted in errors: it
// can hold a password.
func parseProxy(name, raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	p, err := url.Parse(raw)
	if err != nil || p.Host == "" {
		return nil, fmt.Errorf("%s is not a proxy URL (http://host:port)", name)
	}
	if p.Scheme != "http" {
		return nil, fmt.Errorf("%s: only http:// proxies are supported, not %s://", name, p.Scheme)
	}
	return p, nil
}

// noProxy is a parsed NO_PROXY.
type noProxy struct {
	all     bool
	ips     []ipPort
	nets    []netip.Prefix
	domains []domainPort
}

type ipPort struct {
	ip   netip.Addr
	port string
}

// domainPort matches a host name ending in suffix (".example.com"), or
// equal to it without the dot when exact is set.
type domainPort struct {
	suffix string
	exact  bool
	port   string
}

func parseNoProxy(s string) noProxy {
	var np noProxy
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
			continue
		case e == "*":
			np.all = true
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			np.nets = append(np.nets, p.Masked())
			continue
		}
		host, port := e, ""
		if h, p, err := net.SplitHostPort(e); err == nil {
			host, port = h, p
		}
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			np.ips = append(np.ips, ipPort{ip: ip.Unmap(), port: port})
			continue
		}
		if strings.HasPrefix(host, "*.") {
			host = host[1:] // "*.example.com" is ".example.com"; any other "*" is literal, as in Go's httpproxy
		}
		d := domainPort{suffix: host, port: port}
		if !strings.HasPrefix(host, ".") {
			d.suffix, d.exact = "."+host, true
		}
		np.domains = append(np.domains, d)
	}
	return np
}

// useProxy reports whether u's host goes through the proxy.
func (np noProxy) useProxy(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	if host == "localhost" {
		return false
	}
	if np.all {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsLoopback() {
			return false
		}
		for _, p := range np.nets {
			if p.Contains(ip) {
				return false
			}
		}
		for _, e := range np.ips {
			if e.ip == ip && (e.port == "" || e.port == port) {
				return false
			}
		}
		return true
	}
	for _, d := range np.domains {
		if (strings.HasSuffix(host, d.suffix) || d.exact && host == d.suffix[1:]) && (d.port == "" || d.port == port) {
			return false
		}
	}
	return true
}

// proxyAuth is the Proxy-Authorization field for a proxy URL with a user.
func proxyAuth(p *url.URL) []Field {
	if p == nil || p.User == nil {
		return nil
	}
	pass, _ := p.User.Password()
	cred := base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass))
	return []Field{{Name: "Proxy-Authorization", Value: "Basic " + cred}}
}

// tunnel asks the proxy on nc for a tunnel to addr (CONNECT).
func tunnel(ctx context.Context, nc net.Conn, addr string, proxy *url.URL) error {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	req := &Request{Method: "CONNECT", URL: &url.URL{Host: addr}}
	wire, err := appendRequest(nil, req, addr, proxyAuth(proxy))
	if err != nil {
		return err
	}
	if _, err := nc.Write(wire); err != nil {
		return fmt.Errorf("the proxy: %w", err)
	}
	// One byte at a time: whatever follows the proxy's answer is the
	// server's, and belongs to the TLS handshake.
	br := bufio.NewReaderSize(oneByte{nc}, 16)
	resp, _, err := readResponse(br, "CONNECT", 0)
	if err != nil {
		return fmt.Errorf("the proxy's answer to CONNECT: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the proxy refused the tunnel: %d %s", resp.StatusCode, StatusText(resp.StatusCode))
	}
	if br.Buffered() > 0 {
		return errors.New("the proxy sent data before the tunnel was open")
	}
	return nil
}

// oneByte reads one byte at a time.
type oneByte struct{ c net.Conn }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.c.Read(p)
}

// StatusText is the reason phrase of an HTTP status code, "" when unknown.
func StatusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Request Entity Too Large"
	case 415:
		return "Unsupported Media Type"
	case 422:
		return "Unprocessable Entity"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return ""
}
