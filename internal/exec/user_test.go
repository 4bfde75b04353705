package exec

import (
	"errors"
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookupUser(t *testing.T) {
	const (
		passwd    = "testdata/passwd"
		group     = "testdata/group"
		badPasswd = "testdata/passwd.bad"
		badGroup  = "testdata/group.bad"
		missing   = "testdata/missing"
	)
	tests := []struct {
		name       string
		spec       string
		passwd     string // default passwd
		group      string // default group
		want       *Credential
		wantCode   int
		wantErrMsg []string
	}{
		// Numeric users: groups are cleared.
		{name: "uid with a passwd entry takes its primary group", spec: "1000", want: &Credential{UID: 1000, GID: 1001, Groups: []uint32{}}},
		{name: "root", spec: "0", want: &Credential{UID: 0, GID: 0, Groups: []uint32{}}},
		{name: "uid without an entry gets gid = uid", spec: "4000", want: &Credential{UID: 4000, GID: 4000, Groups: []uint32{}}},
		{name: "uid without a passwd file", spec: "1000", passwd: missing, want: &Credential{UID: 1000, GID: 1000, Groups: []uint32{}}},
		{name: "uid:gid reads no file", spec: "1000:2000", passwd: badPasswd, group: badGroup, want: &Credential{UID: 1000, GID: 2000, Groups: []uint32{}}},
		{name: "nobody", spec: "65534:65534", want: &Credential{UID: 65534, GID: 65534, Groups: []uint32{}}},
		{name: "uid:group name", spec: "1000:dev", want: &Credential{UID: 1000, GID: 5000, Groups: []uint32{}}},
		{name: "uid:unknown group", spec: "1000:nosuch", wantCode: 126, wantErrMsg: []string{`group "nosuch" not found in testdata/group`}},
		{name: "uid:group name without a group file", spec: "1000:dev", group: missing, wantCode: 126, wantErrMsg: []string{"read testdata/missing"}},

		// Named users: initgroups.
		{name: "name", spec: "alice", want: &Credential{UID: 4242, GID: 4243, Groups: []uint32{4243, 5000, 5001, 5002}}},
		{name: "another name", spec: "bob", want: &Credential{UID: 1000, GID: 1001, Groups: []uint32{1001, 5000}}},
		{name: "name:group", spec: "alice:ops", want: &Credential{UID: 4242, GID: 5001, Groups: []uint32{5001, 5000, 5002}}},
		{name: "name:gid", spec: "alice:7", want: &Credential{UID: 4242, GID: 7, Groups: []uint32{7, 5000, 5001, 5002}}},
		{name: "name without a group file", spec: "alice", group: missing, want: &Credential{UID: 4242, GID: 4243, Groups: []uint32{4243}}},
		{name: "name:group without a group file", spec: "alice:ops", group: missing, wantCode: 126, wantErrMsg: []string{"read testdata/missing", "no such file"}},
		{name: "unknown user", spec: "nosuch", wantCode: 126, wantErrMsg: []string{`user "nosuch" not found in testdata/passwd`}},
		{name: "member of a group but not in passwd", spec: "carol", wantCode: 126, wantErrMsg: []string{`user "carol" not found`}},
		{name: "name without a passwd file", spec: "alice", passwd: missing, wantCode: 126, wantErrMsg: []string{"read testdata/missing", "no such file"}},
		{name: "malformed passwd", spec: "alice", passwd: badPasswd, wantCode: 126,
			wantErrMsg: []string{`testdata/passwd.bad line 2: user "alice": uid "notanumber" is not a number`}},
		{name: "malformed passwd for a uid", spec: "1000", passwd: badPasswd, wantCode: 126, wantErrMsg: []string{"testdata/passwd.bad line 2"}},
		{name: "malformed group", spec: "bob", group: badGroup, wantCode: 126,
			wantErrMsg: []string{`testdata/group.bad line 2: group "dev": gid "bob" is not a number`}},

		// Malformed specs are usage errors.
		{name: "empty", spec: "", wantCode: 2},
		{name: "colon only", spec: ":", wantCode: 2},
		{name: "empty group", spec: "1000:", wantCode: 2, wantErrMsg: []string{`"1000:"`, "empty"}},
		{name: "empty user", spec: ":1000", wantCode: 2},
		{name: "two colons", spec: "a:b:c", wantCode: 2},
		{name: "uid -1", spec: "4294967295", wantCode: 2, wantErrMsg: []string{"out of range"}},
		{name: "uid too big", spec: "99999999999", wantCode: 2},
		{name: "gid -1", spec: "1000:4294967295", wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, g := passwd, group
			if tt.passwd != "" {
				p = tt.passwd
			}
			if tt.group != "" {
				g = tt.group
			}
			got, err := LookupUser(tt.spec, p, g)
			if tt.wantCode == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			var e *exit.Error
			require.True(t, errors.As(err, &e), "want an *exit.Error, got %T", err)
			assert.Equal(t, tt.wantCode, e.Code, "error: %v", err)
			for _, m := range tt.wantErrMsg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestCheckCredential(t *testing.T) {
	root := identity{groups: []int{0}, capSetuid: true, capSetgid: true}
	user := identity{ruid: 1000, euid: 1000, suid: 1000, rgid: 1000, egid: 1000, sgid: 1000, groups: []int{1000, 27}}
	tests := []struct {
		name    string
		cred    Credential
		id      identity
		wantMsg string // "" for no error
	}{
		{name: "root may become anyone", cred: Credential{UID: 65534, GID: 65534, Groups: []uint32{}}, id: root},
		{name: "a user may stay itself", cred: Credential{UID: 1000, GID: 1000, Groups: []uint32{27}}, id: user},
		{name: "the primary group does not count", cred: Credential{UID: 1000, GID: 1000, Groups: []uint32{1000, 27}}, id: user},
		{name: "a user can't become another", cred: Credential{UID: 0, GID: 1000, Groups: []uint32{27}}, id: user,
			wantMsg: "cannot run as user 0:1000: this process runs as uid 1000 without CAP_SETUID"},
		{name: "a user can't change its gid", cred: Credential{UID: 1000, GID: 0, Groups: []uint32{27}}, id: user,
			wantMsg: "without CAP_SETGID"},
		{name: "a user can't clear its groups", cred: Credential{UID: 1000, GID: 1000, Groups: []uint32{}}, id: user,
			wantMsg: "this process has groups [1000 27] and no CAP_SETGID"},
		{name: "root without CAP_SETUID", cred: Credential{UID: 1000, GID: 0, Groups: []uint32{}},
			id: identity{groups: []int{}, capSetgid: true}, wantMsg: "without CAP_SETUID"},
		{name: "a saved uid that differs needs CAP_SETUID", cred: Credential{UID: 1000, GID: 1000, Groups: []uint32{27}},
			id: identity{ruid: 1000, euid: 1000, suid: 0, rgid: 1000, egid: 1000, sgid: 1000, groups: []int{27}}, wantMsg: "CAP_SETUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCredential(&tt.cred, tt.id)
			if tt.wantMsg == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantMsg)
			var e *exit.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, exit.NotExecutable, e.Code)
		})
	}
}

// TestCheckCredentialAsNobody asks a real unprivileged process.
func TestCheckCredentialAsNobody(t *testing.T) {
	t.Parallel()
	nobody := &Credential{UID: 65534, GID: 65534, Groups: []uint32{}}
	require.NoError(t, CheckCredential(nil))
	require.NoError(t, CheckCredential(nobody), "the tests run as root")

	r := startRole(t, runConfig{cred: &syscall.Credential{Uid: 65534, Gid: 65534}, args: []string{"checkcred", "0:0"}})
	assert.Equal(t, 126, r.wait(10*time.Second))
	assert.Contains(t, r.stderr.String(), "cannot run as user 0:0: this process runs as uid 65534 without CAP_SETUID")

	r = startRole(t, runConfig{cred: &syscall.Credential{Uid: 65534, Gid: 65534}, args: []string{"checkcred", "65534:65534"}})
	assert.Equal(t, 0, r.wait(10*time.Second), "a process may stay who it is: %s", r.stderr.String())
}

func TestParseGrace(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "10s", want: 10 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "15", want: 15 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "", wantErr: `"": want a duration such as 10s or 1m30s`},
		{in: "ten", wantErr: `"ten": want a duration`},
		{in: "10x", wantErr: "want a duration"},
		{in: "-1s", wantErr: `"-1s": must not be negative`},
		{in: "-5", wantErr: "want a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseGrace(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// checkPasswdEntries holds for every entry parsePasswd returns.
func checkPasswdEntries(t *testing.T, users []passwdEntry) {
	for _, u := range users {
		require.NotEmpty(t, u.Name)
		require.NotContains(t, u.Name, ":")
		require.NotContains(t, u.Name, "\n")
		require.NotEqual(t, uint32(1<<32-1), u.UID)
		require.NotEqual(t, uint32(1<<32-1), u.GID)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\n"))
	f.Add([]byte("# comment\n\n+@netgroup\nbob:x:1000:1001\r\n"))
	f.Add([]byte("bad:x:1:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := parsePasswd("passwd", data)
		if err != nil {
			require.Nil(t, users)
			require.True(t, strings.HasPrefix(err.Error(), "passwd line "), "errors name the file and line: %v", err)
			return
		}
		checkPasswdEntries(t, users)
		// What was parsed survives a round trip.
		var sb strings.Builder
		for _, u := range users {
			fmt.Fprintf(&sb, "%s:x:%d:%d:::\n", u.Name, u.UID, u.GID)
		}
		again, err := parsePasswd("passwd", []byte(sb.String()))
		require.NoError(t, err)
		require.Equal(t, users, again)
	})
}

func FuzzParseGroup(f *testing.F) {
	f.Add([]byte("root:x:0:\ndev:x:5000:bob,alice\nwheel:x:10\n"))
	f.Add([]byte("# comment\naudit:x:5002: alice , carol\r\n-nis\n"))
	f.Add([]byte("dev:5000:bob"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, err := parseGroup("group", data)
		if err != nil {
			require.Nil(t, groups)
			require.True(t, strings.HasPrefix(err.Error(), "group line "), "errors name the file and line: %v", err)
			return
		}
		var sb strings.Builder
		for _, g := range groups {
			require.NotEmpty(t, g.Name)
			require.NotContains(t, g.Name, ":")
			require.NotEqual(t, uint32(1<<32-1), g.GID)
			for _, m := range g.Members {
				require.NotEmpty(t, m)
				require.NotContains(t, m, ",")
				require.Equal(t, strings.TrimSpace(m), m)
			}
			fmt.Fprintf(&sb, "%s:x:%d:%s\n", g.Name, g.GID, strings.Join(g.Members, ","))
		}
		again, err := parseGroup("group", []byte(sb.String()))
		require.NoError(t, err)
		require.Equal(t, groups, again)
	})
}
