package aws

import (
	"fmt"
	"strings"
)

// sharedFile is one parsed AWS shared config or credentials file: its
// sections by name, each a map of lower-case keys. Values are never part
// of an error: the files hold keys.
type sharedFile map[string]map[string]string

// parseShared reads the INI dialect of ~/.aws/config and
// ~/.aws/credentials: [section] headers, key = value lines, # and ;
// comments, and indented continuation lines (kept for nested settings such
// as s3 = …, which the shim does not use). In the config file a section is
// "default" or "profile NAME"; in the credentials file it is the bare name;
// configFile says which, and the result is keyed by profile name.
func parseShared(data []byte, configFile bool) (sharedFile, error) {
	out := sharedFile{}
	var cur map[string]string
	var lastKey string
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] == '[' {
			if !strings.HasSuffix(trimmed, "]") {
				return nil, fmt.Errorf("line %d: a section header without ']'", n+1)
			}
			name := strings.TrimSpace(trimmed[1 : len(trimmed)-1])
			if configFile {
				switch {
				case name == "default":
				case strings.HasPrefix(name, "profile "):
					name = strings.TrimSpace(strings.TrimPrefix(name, "profile "))
				default:
					// sso-session, services and other sections: not profiles.
					name = "\x00" + name
				}
			}
			if name == "" {
				return nil, fmt.Errorf("line %d: an empty section name", n+1)
			}
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur, lastKey = out[name], ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil || lastKey == "" {
				return nil, fmt.Errorf("line %d: an indented line outside a setting", n+1)
			}
			continue // a nested sub-setting
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value", n+1)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: a setting before any [section]", n+1)
		}
		lastKey = strings.ToLower(strings.TrimSpace(k))
		cur[lastKey] = strings.TrimSpace(v)
	}
	return out, nil
}
