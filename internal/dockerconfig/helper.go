package dockerconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Credentials is what a credential helper's `get` prints.
type Credentials struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// Helper asks the credential helper called name (docker-credential-<name>)
// for the credentials of serverURL.
type Helper func(name, serverURL string) (Credentials, error)

// helperNameRE keeps a helper's name a plain word: Docker runs
// docker-credential-<name> from PATH, and a name with a slash would be a path.
// validHelperName is ^[A-Za-z0-9][-A-Za-z0-9._]*$, checked by hand: a
// regexp compiled at package init costs every container start.
func validHelperName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '.' && c != '_') {
			return false
		}
	}
	return s != ""
}

func checkHelperName(name string) error {
	if !validHelperName(name) {
		return fmt.Errorf("credential helper name %q is not a plain name (it must match ^[A-Za-z0-9][-A-Za-z0-9._]*$)", name)
	}
	return nil
}

// notFoundMessage is what the helpers of docker-credential-helpers print
// when they have nothing for a server.
const notFoundMessage = "credentials not found in native keychain"

// maxHelperOutput bounds what is read from a helper.
const maxHelperOutput = 1 << 20

// Runner is the Helper that runs `docker-credential-<name> get` from PATH as
// Docker does: the server URL on stdin, JSON {"ServerURL", "Username",
// "Secret"} on stdout. ctx bounds every run.
func Runner(ctx context.Context) Helper {
	return func(name, serverURL string) (Credentials, error) {
		if err := checkHelperName(name); err != nil {
			return Credentials{}, invalidf("%v", err)
		}
		prog := "docker-credential-" + name
		cmd := exec.CommandContext(ctx, prog, "get")
		cmd.Stdin = strings.NewReader(serverURL)
		var stdout, stderr capped
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// A helper killed at the deadline may leave a child holding its
		// stdout: stop waiting for that soon after.
		cmd.WaitDelay = 500 * time.Millisecond
		err := cmd.Run()
		if errors.Is(err, exec.ErrNotFound) {
			return Credentials{}, fmt.Errorf("registry %q: credential helper %s is not on PATH", serverURL, prog)
		}
		if ctx.Err() != nil {
			return Credentials{}, fmt.Errorf("registry %q: credential helper %s: %w", serverURL, prog, ctx.Err())
		}
		if err != nil {
			msg := strings.TrimSpace(stdout.String())
			if msg == notFoundMessage {
				return Credentials{}, invalidf("credential helper %s has no credentials for registry %q", prog, serverURL)
			}
			// By the protocol, a failing helper prints its error on stdout;
			// but what it printed may be the credentials, then a failure, and
			// no test of the text can tell. So it is never shown.
			return Credentials{}, fmt.Errorf("registry %q: %s get failed (%v); its output is not shown, since it may hold credentials: run `echo %s | %s get` to see it",
				serverURL, prog, err, serverURL, prog)
		}
		var c Credentials
		if err := decodeStrict(stdout.Bytes(), &c); err != nil {
			return Credentials{}, fmt.Errorf("registry %q: %s get printed malformed output: %v", serverURL, prog, err)
		}
		return c, nil
	}
}

// capped is a buffer that keeps the first maxHelperOutput bytes.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxHelperOutput - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}
