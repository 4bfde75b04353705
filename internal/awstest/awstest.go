// Package awstest runs moto_server, a real implementation of the AWS
// protocols, for the tests, on 127.0.0.1, and gives them boto3 (beside moto)
// as an independent client. It also has the fakes for what moto does not
// do: FaultProxy (throttling, 5xx, slowness, and a count of the calls),
// LatencyProxy (a delay on every round trip), IMDS and a container
// credentials endpoint.
//
// moto_server comes with the machine and can't be installed here; without
// it the tests skip with a message naming `make test`, and under CI=true
// they fail.
package awstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/netfake"
)

// Region and the credentials moto accepts while auth is off.
const (
	Region    = "us-east-1"
	AccessKey = "AKIAMOTOTESTKEY00000"
	SecretKey = "moto-test-secret-key"
	Account   = "123456789012"
)

// Moto is a running moto_server.
type Moto struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	once    sync.Once
	shared  *Moto
	started error
)

// Start returns the test binary's moto, starting it on first use.
func Start(t testing.TB) *Moto {
	t.Helper()
	once.Do(func() { shared, started = start() })
	if started != nil {
		if _, err := exec.LookPath("moto_server"); err != nil && os.Getenv("CI") != "true" {
			t.Skipf("no moto_server here (%v); run `make test` on a machine that has it (it comes preinstalled)", err)
		}
		t.Fatalf("moto_server did not start: %v", started)
	}
	return shared
}

// Shutdown stops moto, if it was started. TestMain calls it.
func Shutdown() {
	if shared != nil && shared.cmd.Process != nil {
		_ = syscall.Kill(-shared.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-shared.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-shared.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

func start() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := &Moto{Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	logf, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, err
	}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = m.cmd.Wait(); logf.Close(); os.Remove(logf.Name()); close(m.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		select {
		case <-m.done:
			return nil, errors.New("moto_server exited")
		default:
		}
		if time.Now().After(deadline) {
			return nil, errors.New("moto_server not answering after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Reset empties moto and turns its auth off.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	m.post(t, "/moto-api/reset", "")
	// reset leaves auth as it was; a count this high turns it off.
	m.post(t, "/moto-api/reset-auth", "1000000000")
}

// EnforceAuth makes moto check signatures and IAM policies from now on.
func (m *Moto) EnforceAuth(t testing.TB) {
	t.Helper()
	m.post(t, "/moto-api/reset-auth", "0")
}

func (m *Moto) post(t testing.TB, path, body string) {
	t.Helper()
	resp, err := http.Post(m.URL+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

// Env is the environment of a client of moto with the test key.
func (m *Moto) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region, "AWS_ENDPOINT_URL=" + m.URL, "AWS_EC2_METADATA_DISABLED=true",
	}
}

// Boto runs a Python script with boto3 against moto (an independent
// client) and returns its stdout. The script gets sm (a Secrets Manager
// client), iam and sts clients, and json.
func (m *Moto) Boto(t testing.TB, script string, env ...string) string {
	t.Helper()
	prelude := "import boto3, json, sys, base64\n" +
		"kw = dict(region_name='" + Region + "', endpoint_url='" + m.URL + "')\n" +
		"sm = boto3.client('secretsmanager', **kw)\niam = boto3.client('iam', **kw)\nsts = boto3.client('sts', **kw)\n"
	cmd := exec.Command("python3", "-c", prelude+script)
	cmd.Env = append([]string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, errb.String())
	}
	return out.String()
}

// LatencyProxy is a fake network to moto (netfake.Latency).
func (m *Moto) LatencyProxy(t testing.TB, rtt time.Duration) *netfake.Proxy {
	return netfake.Latency(t, "127.0.0.1:"+strconv.Itoa(m.Port), rtt)
}

// Fault is what FaultProxy does to one call.
type Fault struct {
	Delay  time.Duration
	Status int    // answer with this status instead; 0 passes the call on
	Type   string // the __type of that answer
}

// FaultProxy is a fake: an HTTP proxy in front of moto that delays, fails
// or throttles calls on demand, and counts them by X-Amz-Target (or STS
// Action).
type FaultProxy struct {
	URL string

	mu     sync.Mutex
	queue  []Fault
	always *Fault
	only   string // apply faults only to this target; "" for all
	calls  []string
	bodies []string
}

// FaultProxy starts one for the test.
func (m *Moto) FaultProxy(t testing.TB) *FaultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{URL: "http://" + l.Addr().String()}
	tr := &http.Transport{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		target := r.Header.Get("X-Amz-Target")
		if target == "" {
			if i := bytes.Index(body, []byte("Action=")); i >= 0 {
				target = "sts." + strings.SplitN(string(body[i+7:]), "&", 2)[0]
			}
		}
		f := p.next(target, string(body))
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.Status != 0 {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(f.Status)
			fmt.Fprintf(w, `{"__type":%q,"message":"CANARY-fault-message"}`, f.Type)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, m.URL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *FaultProxy) next(target, body string) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, target)
	p.bodies = append(p.bodies, body)
	if p.only != "" && target != p.only {
		return Fault{}
	}
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

// Then queues faults for the next calls (of target, when given with Only).
func (p *FaultProxy) Then(faults ...Fault) {
	p.mu.Lock()
	p.queue = append(p.queue, faults...)
	p.mu.Unlock()
}

// Always applies f once the queue is empty; nil stops.
func (p *FaultProxy) Always(f *Fault) {
	p.mu.Lock()
	p.always = f
	p.mu.Unlock()
}

// Only limits the faults to calls of one target, e.g.
// "secretsmanager.BatchGetSecretValue"; "" for all.
func (p *FaultProxy) Only(target string) {
	p.mu.Lock()
	p.only = target
	p.mu.Unlock()
}

// Calls lists the calls seen, by target, in order.
func (p *FaultProxy) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Bodies lists the calls' bodies, in order.
func (p *FaultProxy) Bodies() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// Count is how many calls of target were seen.
func (p *FaultProxy) Count(target string) int {
	n := 0
	for _, c := range p.Calls() {
		if c == target {
			n++
		}
	}
	return n
}
