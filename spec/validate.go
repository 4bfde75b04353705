package spec

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules' texts that users search for. They are Flyte's, word for word.
const (
	envNamePattern = "^[A-Z_][A-Z0-9_]*$"
	ruleMount      = "Only /etc/flyte/secrets is supported as secret mount path today."
)

// maxNameLen is the longest key or group: a DNS subdomain, as in a
// Kubernetes Secret's name, and short enough for one path component.
const maxNameLen = 253

// Validate applies the rules of a secret request to every raw request and
// returns the requests in order. Identical requests (the same Request apart
// from Origin) are merged, keeping the first. Two different requests that set
// the same variable or write the same file, or a file whose name is another
// request's group directory, are an error naming both.
//
// Every problem is reported: the error is one *Error that lists them all,
// each naming the request's origin, its key and the rule.
func Validate(raws []Raw) ([]Request, error) {
	var (
		problems []Problem
		reqs     = make([]Request, 0, len(raws))
		envs     = make(map[string]Request) // variable -> request that sets it
		files    = make(map[string]Request) // path under the mount -> request
		dirs     = make(map[string]Request) // group directory under the mount -> first request in it
	)
	for _, raw := range raws {
		req, rules := check(raw)
		if len(rules) > 0 {
			for _, rule := range rules {
				problems = append(problems, Problem{Origin: raw.Origin, Key: raw.Key, Rule: rule})
			}
			continue
		}
		if repeats(req, reqs, envs, files) {
			continue
		}
		rules = collisions(req, envs, files, dirs)
		if len(rules) > 0 {
			for _, rule := range rules {
				problems = append(problems, Problem{Origin: raw.Origin, Key: raw.Key, Rule: rule})
			}
			continue
		}
		if req.EnvVar != "" {
			envs[req.EnvVar] = req
		}
		if req.File {
			files[req.FilePath()] = req
			if req.Group != "" {
				if _, ok := dirs[strings.ToLower(req.Group)]; !ok {
					dirs[strings.ToLower(req.Group)] = req
				}
			}
		}
		reqs = append(reqs, req)
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return reqs, nil
}

// repeats reports whether req, but for its Origin, is a request taken
// already: a request given twice is taken once. A repeat sets the same
// variable or file as the first, so the collision maps find it; a request
// with neither is looked for among the requests taken.
func repeats(req Request, taken []Request, envs, files map[string]Request) bool {
	same := func(prev Request) bool {
		prev.Origin = req.Origin
		return prev == req
	}
	switch {
	case req.EnvVar != "":
		prev, ok := envs[req.EnvVar]
		return ok && same(prev)
	case req.File:
		prev, ok := files[req.FilePath()]
		return ok && same(prev)
	}
	for _, prev := range taken {
		if same(prev) {
			return true
		}
	}
	return false
}

// check turns one raw request into a Request, or says which rules it breaks.
func check(raw Raw) (Request, []string) {
	req := Request{
		Key:          raw.Key,
		Group:        raw.Group,
		GroupVersion: raw.GroupVersion,
		Optional:     raw.Optional,
		Origin:       raw.Origin,
	}
	var rules []string
	add := func(rule string) {
		if rule != "" {
			rules = append(rules, rule)
		}
	}

	if raw.Key == "" {
		add("key is required and must not be empty")
	} else {
		add(nameRule("key", raw.Key))
	}
	if raw.Group != "" {
		add(nameRule("group "+quote(raw.Group), raw.Group))
	}
	// A derived variable name is only worth checking when the names it comes
	// from are sound; otherwise it repeats their problem.
	namesOK := len(rules) == 0

	givenEnv := false
	switch raw.Shape {
	case ShapeSDK:
		if raw.Mount != "" {
			req.File = true
			if raw.Mount != MountPath {
				add(ruleMount + " Got " + quote(raw.Mount) + ": the one accepted path is " + MountPath + " (the files go under it; --root moves it for a test)")
			}
		}
		switch {
		case raw.AsEnvVar != "":
			req.EnvVar, givenEnv = raw.AsEnvVar, true
		case raw.Mount == "":
			req.EnvVar = deriveEnvVar(raw.Group, raw.Key)
		}
	case ShapeCore:
		switch raw.MountRequirement {
		case MountAny, MountEnvVar:
			req.EnvVar, givenEnv = raw.EnvVar, raw.EnvVar != ""
			if !givenEnv {
				req.EnvVar = deriveEnvVar(raw.Group, raw.Key)
			}
		case MountFile:
			req.File = true
			if raw.EnvVar != "" {
				req.EnvVar, req.EnvIsPath, givenEnv = raw.EnvVar, true, true
			}
		default:
			add(fmt.Sprintf("mount_requirement %d is not ANY (0), ENV_VAR (1) or FILE (2)", int(raw.MountRequirement)))
		}
	default:
		add(fmt.Sprintf("unknown request shape %d", int(raw.Shape)))
	}

	if req.File {
		add(fileNameRule("key", raw.Key, raw.Group != ""))
		if raw.Group != "" {
			add(fileNameRule("group "+quote(raw.Group), raw.Group, true))
		}
	}
	if req.EnvVar != "" && (givenEnv || namesOK) && !validEnvVar(req.EnvVar) {
		rule := "Invalid environment variable name: " + bare(req.EnvVar) + ", must match " + envNamePattern
		if fix := envNameFix(req.EnvVar); fix != "" {
			rule += "; did you mean " + fix + "?"
		}
		add(rule)
	}
	return req, rules
}

// envNameFix is the valid name nearest an invalid one, for the way out of
// Flyte's text: upper-cased, with each other character that a name can't
// hold made "_", and "_" before a leading digit. "" when that is no
// better: a name with nothing but such characters, or one too odd to guess.
func envNameFix(name string) string {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		return ""
	}
	var b strings.Builder
	letters := 0
	for _, r := range strings.ToUpper(name) {
		switch {
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			letters++
			b.WriteRune(r)
		case r == '_' || r == '-' || r == '.' || r == ' ':
			b.WriteByte('_')
		default:
			return ""
		}
	}
	fix := b.String()
	if fix[0] >= '0' && fix[0] <= '9' {
		fix = "_" + fix
	}
	if letters == 0 || !validEnvVar(fix) {
		return ""
	}
	return fix
}

// nameRule checks a key or group: 1 to 253 bytes of valid UTF-8 with no
// control character. It returns "" when s is fine.
func nameRule(what, s string) string {
	switch {
	case len(s) > maxNameLen:
		return fmt.Sprintf("%s must be 1 to %d characters, got %d bytes", what, maxNameLen, len(s))
	case !utf8.ValidString(s):
		return what + " must be valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return what + " must not contain a NUL or other control character"
		}
	}
	return ""
}

// fileNameRule checks a name that becomes a path component under the mount,
// so that nothing is written outside it or over the atomic layout's
// "..data" and timestamped directories. lowered says the component is the
// lower-cased name (a grouped request); lower-casing may lengthen a name.
func fileNameRule(what, s string, lowered bool) string {
	switch {
	case strings.Contains(s, "/"):
		return what + ` must not contain "/" in a file request`
	case s == "." || s == "..":
		return what + ` must not be "." or ".." in a file request`
	case strings.HasPrefix(s, ".."):
		return what + ` must not start with ".." in a file request: that prefix is reserved for the mount's atomic layout`
	case lowered && len(strings.ToLower(s)) > maxNameLen:
		return fmt.Sprintf("%s must be 1 to %d characters, got %d bytes once lower-cased for its path", what, maxNameLen, len(strings.ToLower(s)))
	}
	return ""
}

// collisions says how req clashes with the requests already accepted: the
// same variable, the same file, or a file named like a group directory.
func collisions(req Request, envs, files, dirs map[string]Request) []string {
	var rules []string
	if req.EnvVar != "" {
		if other, ok := envs[req.EnvVar]; ok {
			rules = append(rules, fmt.Sprintf("sets the environment variable %s, as %s does", bare(req.EnvVar), other.Describe()))
		}
	}
	if req.File {
		path := req.FilePath()
		if other, ok := files[path]; ok {
			rules = append(rules, fmt.Sprintf("writes the file %s, as %s does", bare(req.LogicalPath()), other.Describe()))
		}
		if req.Group == "" {
			if other, ok := dirs[path]; ok {
				rules = append(rules, fmt.Sprintf("its file %s would have the name of the group directory of %s", bare(req.LogicalPath()), other.Describe()))
			}
		} else if other, ok := files[strings.ToLower(req.Group)]; ok && other.Group == "" {
			rules = append(rules, fmt.Sprintf("its group directory %s would have the name of the file of %s", bare(MountPath+"/"+strings.ToLower(req.Group)), other.Describe()))
		}
	}
	return rules
}

// deriveEnvVar is the variable a request sets when it names none:
// group_key, or key without a group, with every "-" made "_", upper-cased.
// The result may still be invalid (my.secret gives MY.SECRET); see
// validEnvVar.
func deriveEnvVar(group, key string) string {
	// Every request without a variable of its own comes here at every
	// start: an ASCII name is made in one pass and one allocation; any other
	// goes the long way, for strings.ToUpper's Unicode upper case.
	var b strings.Builder
	b.Grow(len(group) + 1 + len(key))
	for n, part := range [2]string{group, key} {
		if n == 1 && group != "" {
			b.WriteByte('_')
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			switch {
			case c >= 0x80:
				return deriveEnvVarUnicode(group, key)
			case c == '-':
				c = '_'
			case 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

func deriveEnvVarUnicode(group, key string) string {
	name := key
	if group != "" {
		name = group + "_" + key
	}
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// validEnvVar reports whether name matches ^[A-Z_][A-Z0-9_]*$ in full; a
// trailing newline does not match.
func validEnvVar(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
