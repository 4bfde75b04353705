package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// flagFieldList names the fields of a --secret value for error messages.
const flagFieldList = "key, group, group_version, env, mount, optional"

// ParseFlag reads one --secret value; n is its 1-based position among the
// --secret flags. The value is a bare key (`my-api-key`) or comma-separated
// field=value pairs with the fields key, group, group_version, env (the SDK's
// as_env_var, also accepted under that name), mount and optional:
// `key=openai-key,env=OPENAI_API_KEY`, `key=db-config,mount=/etc/flyte/secrets`.
// An empty value for group, group_version, env or mount is the same as
// leaving the field out. The rules of section 2 are Validate's job.
func ParseFlag(s string, n int) (Raw, error) {
	origin := "--secret #" + strconv.Itoa(n)
	fail := func(format string, args ...any) (Raw, error) {
		return Raw{}, fmt.Errorf("%s %s: %s", origin, quote(s), fmt.Sprintf(format, args...))
	}
	r := Raw{Origin: origin, Shape: ShapeSDK}
	if !strings.ContainsAny(s, "=,") {
		if s == "" {
			return fail("empty key: give a key (my-api-key) or field=value pairs (key=my-api-key,env=MY_API_KEY)")
		}
		r.Key = s
		return r, nil
	}
	seen := make(map[string]bool, 6)
	for _, pair := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return fail("%s is not a field=value pair", quote(pair))
		}
		field := name
		if field == "as_env_var" {
			field = "env"
		}
		switch field {
		case "key":
			r.Key = value
		case "group":
			r.Group = value
		case "group_version":
			r.GroupVersion = value
		case "env":
			r.AsEnvVar = value
		case "mount":
			r.Mount = value
		case "optional":
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fail("optional=%s is not a boolean: use true or false", quote(value))
			}
			r.Optional = b
		default:
			return fail("unknown field %s: the fields are %s", quote(name), flagFieldList)
		}
		if seen[field] {
			return fail("field %s is given twice", field)
		}
		seen[field] = true
	}
	switch {
	case !seen["key"]:
		return fail("no key: add key=NAME")
	case r.Key == "":
		return fail("empty key: key= needs a name")
	}
	return r, nil
}
