package exec

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Default places of the account files. The shim is static (no NSS), so these
// two files are all it reads.
const (
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
)

// Credential is the user the command runs as.
type Credential struct {
	UID, GID uint32
	// Groups are the supplementary groups. Empty clears them.
	Groups []uint32
}

// String prints uid:gid and the groups, e.g. "65534:65534 groups=[]".
func (c *Credential) String() string {
	if c == nil {
		return "<current user>"
	}
	return fmt.Sprintf("%d:%d groups=%v", c.UID, c.GID, c.Groups)
}

type passwdEntry struct {
	Name     string
	UID, GID uint32
}

type groupEntry struct {
	Name    string
	GID     uint32
	Members []string
}

// LookupUser resolves --user: UID[:GID] or NAME[:GROUP], each part a number
// or a name.
//
//   - A numeric user takes GID from the spec; without one, the primary group
//     of the uid's passwd entry, or GID = UID when it has none (a missing
//     passwd file is fine). Its supplementary groups are cleared.
//   - A named user takes its uid and primary group from passwdPath; a named
//     GROUP is resolved through groupPath. Its supplementary groups are its
//     GID plus every group in groupPath that lists the user, as initgroups(3)
//     builds them.
//
// A malformed spec is an *exit.Error with exit.Usage. An unknown user or group, or
// an account file that can't be read or parsed, is an *exit.Error with
// exit.NotExecutable that names the user and the file.
func LookupUser(spec, passwdPath, groupPath string) (*Credential, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	switch {
	case userPart == "":
		return nil, errorf(exit.Usage, "%q: want UID[:GID] or NAME[:GROUP]", spec)
	case hasGroup && groupPart == "":
		return nil, errorf(exit.Usage, "%q: the group after ':' is empty", spec)
	case strings.Contains(groupPart, ":"):
		return nil, errorf(exit.Usage, "%q: want UID[:GID] or NAME[:GROUP], with one ':'", spec)
	}

	cred := &Credential{}
	uid, numericUser, err := parseID(userPart)
	if err != nil {
		return nil, errorf(exit.Usage, "%q: uid %w", spec, err)
	}
	var name string
	if numericUser {
		cred.UID = uid
		cred.Groups = []uint32{}
		if !hasGroup {
			cred.GID = uid
			users, err := readPasswd(passwdPath, true)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if u.UID == uid {
					cred.GID = u.GID
					break
				}
			}
		}
	} else {
		users, err := readPasswd(passwdPath, false)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(users, func(u passwdEntry) bool { return u.Name == userPart })
		if i < 0 {
			return nil, errorf(exit.NotExecutable, "user %q not found in %s", userPart, passwdPath)
		}
		name = userPart
		cred.UID, cred.GID = users[i].UID, users[i].GID
	}

	// The group file is read only when something needs it.
	var groups []groupEntry
	if !numericUser || hasGroup {
		gid, numericGroup, err := parseID(groupPart)
		if hasGroup && err != nil {
			return nil, errorf(exit.Usage, "%q: gid %w", spec, err)
		}
		needFile := !numericUser || (hasGroup && !numericGroup)
		if needFile {
			// A named user without a group file has no supplementary
			// groups; a named group needs the file.
			groups, err = readGroup(groupPath, !(hasGroup && !numericGroup))
			if err != nil {
				return nil, err
			}
		}
		if hasGroup && numericGroup {
			cred.GID = gid
		} else if hasGroup {
			i := slices.IndexFunc(groups, func(g groupEntry) bool { return g.Name == groupPart })
			if i < 0 {
				return nil, errorf(exit.NotExecutable, "group %q not found in %s", groupPart, groupPath)
			}
			cred.GID = groups[i].GID
		}
	}

	if !numericUser {
		cred.Groups = []uint32{cred.GID}
		for _, g := range groups {
			if slices.Contains(g.Members, name) && !slices.Contains(cred.Groups, g.GID) {
				cred.Groups = append(cred.Groups, g.GID)
			}
		}
	}
	return cred, nil
}

// parseID reports whether s is a numeric id, and parses it. An all-digit
// string that overflows, or is the reserved id 4294967295 (-1, "no change"
// to setuid), is an error.
func parseID(s string) (uint32, bool, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, true, fmt.Errorf("%q is out of range", s)
	}
	return uint32(n), true, nil
}

func readPasswd(path string, missingOK bool) ([]passwdEntry, error) {
	data, err := os.ReadFile(path)
	if missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(exit.NotExecutable, "read %s: %w", path, unwrapPathError(err))
	}
	users, err := parsePasswd(path, data)
	if err != nil {
		return nil, &exit.Error{Code: exit.NotExecutable, Err: err}
	}
	return users, nil
}

func readGroup(path string, missingOK bool) ([]groupEntry, error) {
	data, err := os.ReadFile(path)
	if missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(exit.NotExecutable, "read %s: %w", path, unwrapPathError(err))
	}
	groups, err := parseGroup(path, data)
	if err != nil {
		return nil, &exit.Error{Code: exit.NotExecutable, Err: err}
	}
	return groups, nil
}

// accountLines yields the lines of an account file that hold an entry, with
// their 1-based numbers. Blank lines, # comments and NIS compat lines (+ and
// -) are skipped.
func accountLines(data []byte, yield func(n int, line string) error) error {
	for n, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSuffix(string(raw), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '+' || trimmed[0] == '-' {
			continue
		}
		if err := yield(n+1, line); err != nil {
			return err
		}
	}
	return nil
}

// parsePasswd parses name:password:uid:gid:gecos:home:shell lines. Only the
// first four fields are used, and only they are required.
func parsePasswd(file string, data []byte) ([]passwdEntry, error) {
	var out []passwdEntry
	err := accountLines(data, func(n int, line string) error {
		f := strings.Split(line, ":")
		if len(f) < 4 {
			return fmt.Errorf("%s line %d: want name:password:uid:gid:gecos:home:shell, got %d fields", file, n, len(f))
		}
		if f[0] == "" {
			return fmt.Errorf("%s line %d: the user name is empty", file, n)
		}
		uid, err := parseAccountID(f[2])
		if err != nil {
			return fmt.Errorf("%s line %d: user %q: uid %w", file, n, f[0], err)
		}
		gid, err := parseAccountID(f[3])
		if err != nil {
			return fmt.Errorf("%s line %d: user %q: gid %w", file, n, f[0], err)
		}
		out = append(out, passwdEntry{Name: f[0], UID: uid, GID: gid})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseGroup parses name:password:gid:member,member lines. The member list
// may be missing.
func parseGroup(file string, data []byte) ([]groupEntry, error) {
	var out []groupEntry
	err := accountLines(data, func(n int, line string) error {
		f := strings.Split(line, ":")
		if len(f) < 3 || len(f) > 4 {
			return fmt.Errorf("%s line %d: want name:password:gid:members, got %d fields", file, n, len(f))
		}
		if f[0] == "" {
			return fmt.Errorf("%s line %d: the group name is empty", file, n)
		}
		gid, err := parseAccountID(f[2])
		if err != nil {
			return fmt.Errorf("%s line %d: group %q: gid %w", file, n, f[0], err)
		}
		g := groupEntry{Name: f[0], GID: gid}
		if len(f) == 4 {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.Members = append(g.Members, m)
				}
			}
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func parseAccountID(s string) (uint32, error) {
	id, numeric, err := parseID(s)
	if err != nil {
		return 0, err
	}
	if !numeric {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return id, nil
}

// identity is what the process runs as, and what it may change.
type identity struct {
	ruid, euid, suid int
	rgid, egid, sgid int
	groups           []int
	capSetuid        bool // CAP_SETUID in the effective set
	capSetgid        bool // CAP_SETGID in the effective set
}

func currentIdentity() identity {
	var id identity
	id.ruid, id.euid, id.suid = unix.Getresuid()
	id.rgid, id.egid, id.sgid = unix.Getresgid()
	id.groups, _ = syscall.Getgroups()
	if eff, ok := effectiveCaps(); ok {
		id.capSetgid = eff&(1<<capSetgid) != 0
		id.capSetuid = eff&(1<<capSetuid) != 0
	} else {
		id.capSetgid, id.capSetuid = id.euid == 0, id.euid == 0
	}
	return id
}

// Capability numbers from linux/capability.h.
const (
	capSetgid = 6
	capSetuid = 7
)

// effectiveCaps reads CapEff from /proc/self/status.
func effectiveCaps() (uint64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// CheckCredential refuses, before anything starts, a user this process can't
// switch to: a different uid without CAP_SETUID, or a different gid or group
// list without CAP_SETGID. A nil cred, or one the process already is, is
// fine. The error is an *exit.Error with exit.NotExecutable.
func CheckCredential(cred *Credential) error {
	if cred == nil {
		return nil
	}
	return checkCredential(cred, currentIdentity())
}

func checkCredential(cred *Credential, id identity) error {
	uid, gid := int(cred.UID), int(cred.GID)
	if !id.capSetuid && (uid != id.ruid || uid != id.euid || uid != id.suid) {
		return errorf(exit.NotExecutable, "cannot run as user %d:%d: this process runs as uid %d without CAP_SETUID", cred.UID, cred.GID, id.euid)
	}
	if !id.capSetgid && (gid != id.rgid || gid != id.egid || gid != id.sgid) {
		return errorf(exit.NotExecutable, "cannot run as user %d:%d: this process runs as gid %d without CAP_SETGID", cred.UID, cred.GID, id.egid)
	}
	if !id.capSetgid && !groupsInEffect(cred, id) {
		return errorf(exit.NotExecutable, "cannot run as user %d:%d with groups %v: this process has groups %v and no CAP_SETGID", cred.UID, cred.GID, cred.Groups, id.groups)
	}
	return nil
}

// groupsInEffect reports whether the process already has cred's
// supplementary groups. The primary group does not count on either side:
// membership in it comes with the gid anyway.
func groupsInEffect(cred *Credential, id identity) bool {
	want := map[int]bool{}
	for _, g := range cred.Groups {
		if int(g) != int(cred.GID) {
			want[int(g)] = true
		}
	}
	have := map[int]bool{}
	for _, g := range id.groups {
		if g != id.egid {
			have[g] = true
		}
	}
	if len(want) != len(have) {
		return false
	}
	for g := range want {
		if !have[g] {
			return false
		}
	}
	return true
}

// sysCredential is cred for syscall.SysProcAttr, once CheckCredential has
// passed. Without CAP_SETGID the groups are already in effect, and setgroups,
// which would fail, is skipped.
func sysCredential(cred *Credential) *syscall.Credential {
	groups := cred.Groups
	if groups == nil {
		groups = []uint32{}
	}
	return &syscall.Credential{
		Uid:         cred.UID,
		Gid:         cred.GID,
		Groups:      groups,
		NoSetGroups: !currentIdentity().capSetgid,
	}
}

// dropTo switches this process, every thread of it, to cred: setgroups,
// setgid, setuid, in that order.
func dropTo(cred *Credential) error {
	if err := CheckCredential(cred); err != nil {
		return err
	}
	if err := setGroupsOf(cred, currentIdentity()); err != nil {
		return err
	}
	if err := syscall.Setgid(int(cred.GID)); err != nil {
		return errorf(exit.NotExecutable, "switch to user %s: setgid: %w", cred, err)
	}
	if err := syscall.Setuid(int(cred.UID)); err != nil {
		return errorf(exit.NotExecutable, "switch to user %s: setuid: %w", cred, err)
	}
	return nil
}

// dropForExec switches this process to cred for an execve, as dropTo does,
// but keeps its own IDs as the saved set-user-ID and set-group-ID. execve
// copies the effective IDs into the saved ones, so a command that starts
// runs as cred with no way back, and with no capabilities (its real and
// effective IDs are cred's). An execve that fails leaves the shim able to
// take its IDs back with undo, and so to put the previous version of the
// mount back, which needs the mount directory's owner.
func dropForExec(cred *Credential) (undo func() error, err error) {
	if err := CheckCredential(cred); err != nil {
		return nil, err
	}
	id := currentIdentity()
	if err := setGroupsOf(cred, id); err != nil {
		return nil, err
	}
	undo = func() error {
		if err := syscall.Setresuid(id.ruid, id.euid, id.suid); err != nil {
			return fmt.Errorf("setresuid: %w", err)
		}
		if err := syscall.Setresgid(id.rgid, id.egid, id.sgid); err != nil {
			return fmt.Errorf("setresgid: %w", err)
		}
		if id.capSetgid {
			if err := syscall.Setgroups(id.groups); err != nil {
				return fmt.Errorf("setgroups: %w", err)
			}
		}
		return nil
	}
	if err := syscall.Setresgid(int(cred.GID), int(cred.GID), -1); err != nil {
		_ = undo()
		return nil, errorf(exit.NotExecutable, "switch to user %s: setresgid: %w", cred, err)
	}
	if err := syscall.Setresuid(int(cred.UID), int(cred.UID), -1); err != nil {
		_ = undo()
		return nil, errorf(exit.NotExecutable, "switch to user %s: setresuid: %w", cred, err)
	}
	return undo, nil
}

// setGroupsOf sets cred's supplementary groups, when this process may
// (CAP_SETGID); without it, CheckCredential has made sure they are in
// effect already.
func setGroupsOf(cred *Credential, id identity) error {
	if !id.capSetgid {
		return nil
	}
	groups := make([]int, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return errorf(exit.NotExecutable, "switch to user %s: setgroups: %w", cred, err)
	}
	return nil
}
