// Package dockerconfig reads and writes the Docker config JSON that an
// image pull secret holds:
//
//	{"auths":{"<registry>":{"auth":"<base64 of user:password>"}}}
//
// It builds such a value from a registry, a user name and a password
// (Build), checks one given whole (Validate), and extracts the entries of
// chosen registries from a Docker client config file (Parse, then
// Config.Extract), asking a credential helper, as Docker does, when the file
// names one (credHelpers for one registry, credsStore for all).
//
// Every error names registries, files and helpers, never a credential: the
// messages of the JSON decoder are rewritten so that they quote no input.
// Errors about the input itself (malformed JSON, a registry with no
// credentials) are marked so that IsInvalid is true; a helper that cannot be
// run, or fails for another reason, is a plain error.
package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/jsonstrict"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
)

// Config is what a Docker client config file says about credentials. Its
// other settings are ignored.
type Config struct {
	Auths       map[string]Entry  `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// Entry is one registry's entry under "auths".
type Entry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// pullSecret is the shape of an image pull secret's value: auths only, each
// entry an auth.
type pullSecret struct {
	Auths map[string]pullEntry `json:"auths"`
}

type pullEntry struct {
	Auth string `json:"auth"`
}

var errInvalid = errors.New("invalid Docker config")

type invalidError struct{ err error }

func (e *invalidError) Error() string        { return e.err.Error() }
func (e *invalidError) Unwrap() error        { return e.err }
func (e *invalidError) Is(target error) bool { return target == errInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{err: fmt.Errorf(format, args...)}
}

// IsInvalid reports whether err is about the input: a malformed config, or
// a registry with no credentials to extract.
func IsInvalid(err error) bool { return errors.Is(err, errInvalid) }

// EncodeAuth is Docker's auth field: base64 of "user:password".
func EncodeAuth(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

// checkAuth checks an auth field as Docker decodes it: base64 of text with a
// colon between the user name and the password.
func checkAuth(registry, auth string) error {
	b, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return invalidf("registry %q: its auth is not valid base64", registry)
	}
	if !bytes.Contains(b, []byte(":")) {
		return invalidf("registry %q: its auth does not decode to user:password", registry)
	}
	return nil
}

// CheckRegistry accepts a registry as a user gives it: a host, maybe with a
// port, a scheme or a path, and no spaces or control characters.
func CheckRegistry(registry string) error {
	if registry == "" {
		return invalidf("empty registry")
	}
	if !utf8.ValidString(registry) || strings.IndexFunc(registry, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return invalidf("registry %q holds a space or a control character", registry)
	}
	return nil
}

// Build is the image pull secret for one registry and one login.
func Build(registry, username, password string) ([]byte, error) {
	if err := CheckRegistry(registry); err != nil {
		return nil, err
	}
	if username == "" {
		return nil, invalidf("empty user name for registry %q", registry)
	}
	if strings.Contains(username, ":") {
		return nil, invalidf("user name for registry %q holds a colon, which Docker's auth field cannot carry", registry)
	}
	return marshal(map[string]pullEntry{registry: {Auth: EncodeAuth(username, password)}})
}

func marshal(auths map[string]pullEntry) ([]byte, error) {
	return json.Marshal(pullSecret{Auths: auths}) // map keys come out sorted
}

// Parse reads a Docker config. name names it in errors.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return nil, invalidf("malformed Docker config %s: %v", name, err)
	}
	if c.CredsStore != "" {
		if err := checkHelperName(c.CredsStore); err != nil {
			return nil, invalidf("malformed Docker config %s: credsStore: %v", name, err)
		}
	}
	for _, reg := range sortedKeys(c.CredHelpers) {
		if err := checkHelperName(c.CredHelpers[reg]); err != nil {
			return nil, invalidf("malformed Docker config %s: credHelpers[%q]: %v", name, reg, err)
		}
	}
	return &c, nil
}

// decodeStrict decodes one JSON object into v. Its errors quote no input:
// the decoder's own messages can hold a piece of a credential.
func decodeStrict(data []byte, v any) error { return jsonstrict.Decode(data, v, false) }

// Validate checks an image pull secret's value given whole: a JSON object
// with a non-empty "auths", each entry an auth that decodes to
// user:password. Other fields are allowed, as Kubernetes allows them.
func Validate(data []byte) error {
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return invalidf("malformed Docker config JSON: %v", err)
	}
	if len(c.Auths) == 0 {
		return invalidf(`malformed Docker config JSON: it has no registry under "auths"`)
	}
	for _, reg := range sortedKeys(c.Auths) {
		if err := CheckRegistry(reg); err != nil {
			return err
		}
		e := c.Auths[reg]
		if e.Auth == "" {
			return invalidf("registry %q has no auth: an image pull secret needs {\"auth\": base64 of user:password} for each registry", reg)
		}
		if err := checkAuth(reg, e.Auth); err != nil {
			return err
		}
	}
	return nil
}

// Load reads and parses the Docker config file at path.
func Load(path string) (*Config, error) {
	data, err := readfile.Regular(path, readfile.MaxValue)
	if err != nil {
		return nil, invalidf("read Docker config %q: %w", path, err)
	}
	return Parse(path, data)
}

// DefaultPath is where Docker keeps its config: $DOCKER_CONFIG/config.json
// when DOCKER_CONFIG is set, else ~/.docker/config.json. Like Docker, it does
// not fall back from one to the other.
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("find the Docker config: neither DOCKER_CONFIG nor HOME is set; give --docker-config-path")
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// Registries lists every registry the config knows, from "auths" and
// "credHelpers", sorted.
func (c *Config) Registries() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]bool{keySet(c.Auths), keySet(c.CredHelpers)} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func keySet[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hostOf is the registry's host as Docker compares config keys: without a
// scheme or a path, lower-cased, with Docker Hub's names made one.
func hostOf(registry string) string {
	h := registry
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	h = strings.ToLower(h)
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "index.docker.io"
	}
	return h
}

// dockerHubURL is the key and server URL Docker uses for Docker Hub.
const dockerHubURL = "https://index.docker.io/v1/"

// find is the config's key for registry: the same key, else the key of the
// same host (the first in sorted order). ok is false when there is none.
func find[V any](m map[string]V, registry string) (string, bool) {
	if _, ok := m[registry]; ok {
		return registry, true
	}
	want := hostOf(registry)
	for _, k := range sortedKeys(m) {
		if hostOf(k) == want {
			return k, true
		}
	}
	return "", false
}

// Extract builds the image pull secret for registries (every registry the
// config knows when registries is empty). For each one, in Docker's order:
//   - a credHelpers entry: the helper is asked;
//   - an auths entry with an auth: it is copied as it is;
//   - an auths entry with a user name and a password: they are encoded;
//   - a credsStore: the store's helper is asked;
//   - otherwise, or when the helper has no credentials: an error.
//
// The value's key for each registry is the config's own key (the name given
// when the config has no key for it).
func (c *Config) Extract(registries []string, helper Helper) ([]byte, error) {
	if len(registries) == 0 {
		registries = c.Registries()
		if len(registries) == 0 {
			return nil, invalidf("the Docker config names no registry")
		}
	}
	auths := map[string]pullEntry{}
	for _, reg := range registries {
		if err := CheckRegistry(reg); err != nil {
			return nil, err
		}
		key, auth, err := c.extractOne(reg, helper)
		if err != nil {
			return nil, err
		}
		auths[key] = pullEntry{Auth: auth}
	}
	return marshal(auths)
}

func (c *Config) extractOne(reg string, helper Helper) (key, auth string, err error) {
	if k, ok := find(c.CredHelpers, reg); ok {
		return c.ask(k, c.CredHelpers[k], helper)
	}
	if k, ok := find(c.Auths, reg); ok {
		e := c.Auths[k]
		switch {
		case e.Auth != "":
			if err := checkAuth(k, e.Auth); err != nil {
				return "", "", err
			}
			return k, e.Auth, nil
		case e.Username != "" && e.Password != "":
			if strings.Contains(e.Username, ":") {
				return "", "", invalidf("registry %q: its user name holds a colon, which Docker's auth field cannot carry", k)
			}
			return k, EncodeAuth(e.Username, e.Password), nil
		case e.IdentityToken != "" && c.CredsStore == "":
			return "", "", invalidf("registry %q has only an identity token, which an image pull secret cannot carry", k)
		}
		if c.CredsStore != "" {
			return c.ask(k, c.CredsStore, helper)
		}
		return "", "", invalidf("no credentials for registry %q in the Docker config: its entry has no auth", k)
	}
	if c.CredsStore != "" {
		url := reg
		if hostOf(reg) == "index.docker.io" {
			url = dockerHubURL
		}
		return c.ask(url, c.CredsStore, helper)
	}
	return "", "", invalidf("no entry for registry %q in the Docker config (it has: %s)", reg, strings.Join(orNone(c.Registries()), ", "))
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}

// ask runs helper for serverURL and encodes what it returns.
func (c *Config) ask(serverURL, name string, helper Helper) (string, string, error) {
	if helper == nil {
		return "", "", fmt.Errorf("registry %q needs credential helper %q, and none may be run here", serverURL, name)
	}
	cred, err := helper(name, serverURL)
	if err != nil {
		return "", "", err
	}
	switch {
	case cred.Username == "<token>":
		return "", "", invalidf("credential helper %q gave an identity token for registry %q, which an image pull secret cannot carry", name, serverURL)
	case cred.Username == "" || cred.Secret == "":
		return "", "", invalidf("credential helper %q has no credentials for registry %q", name, serverURL)
	case strings.Contains(cred.Username, ":"):
		return "", "", invalidf("credential helper %q gave registry %q a user name with a colon, which Docker's auth field cannot carry", name, serverURL)
	}
	return serverURL, EncodeAuth(cred.Username, cred.Secret), nil
}
