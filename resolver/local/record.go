package local

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/jsonstrict"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// recordVersion is the version of the record format this build writes and
// reads.
const recordVersion = 1

// record is one secret as stored: its metadata and its raw value.
type record struct {
	manage.Meta
	Value []byte
}

// recordJSON is the file's JSON shape. Pointers tell a missing field from an
// empty one.
type recordJSON struct {
	Version     *int    `json:"version"`
	Name        *string `json:"name"`
	Org         *string `json:"org"`
	Project     *string `json:"project"`
	Domain      *string `json:"domain"`
	Type        *string `json:"type"`
	CreatedTime *string `json:"created_time"`
	Value       *string `json:"value"`
}

// corrupt is a rule's error about a record read from disk: the same text,
// but not the caller's invalid input (65). A corrupt store is a store that
// can't be used (1).
func corrupt(err error) error { return errors.New(err.Error()) }

func encodeRecord(r record) ([]byte, error) {
	v := recordVersion
	typ, created, value := string(r.Type), r.Created.UTC().Format(time.RFC3339Nano), base64.StdEncoding.EncodeToString(r.Value)
	b, err := json.Marshal(recordJSON{
		Version: &v, Name: &r.Name, Org: &r.Org, Project: &r.Project, Domain: &r.Domain,
		Type: &typ, CreatedTime: &created, Value: &value,
	})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeRecord parses and checks a record file's bytes. The bytes come from
// disk, so nothing is trusted: every field must be present and valid, and
// nothing may follow the object. Errors never quote the value.
func decodeRecord(data []byte) (record, error) {
	if len(data) == 0 {
		return record{}, errors.New("empty file")
	}
	var j recordJSON
	if err := jsonstrict.Decode(data, &j, true); err != nil {
		return record{}, fmt.Errorf("not a JSON record: %w", err)
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"version", j.Version == nil}, {"name", j.Name == nil}, {"org", j.Org == nil},
		{"project", j.Project == nil}, {"domain", j.Domain == nil}, {"type", j.Type == nil},
		{"created_time", j.CreatedTime == nil}, {"value", j.Value == nil},
	} {
		if f.missing {
			return record{}, fmt.Errorf("missing field %q", f.name)
		}
	}
	if *j.Version != recordVersion {
		return record{}, fmt.Errorf("record version %d is not supported (this build reads version %d)", *j.Version, recordVersion)
	}
	scope := resolver.Scope{Org: *j.Org, Project: *j.Project, Domain: *j.Domain}
	if err := checkNameScope(scope, *j.Name); err != nil {
		return record{}, corrupt(err)
	}
	typ, err := manage.ParseType(*j.Type)
	if err != nil {
		return record{}, corrupt(err)
	}
	created, err := time.Parse(time.RFC3339, *j.CreatedTime)
	if err != nil {
		return record{}, fmt.Errorf("created_time %s is not RFC 3339", spec.Quote(*j.CreatedTime))
	}
	value, err := base64.StdEncoding.Strict().DecodeString(*j.Value)
	if err != nil {
		return record{}, errors.New("value is not valid base64")
	}
	return record{
		Meta: manage.Meta{
			Name: *j.Name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain,
			Type: typ, Created: created.UTC(),
		},
		Value: value,
	}, nil
}
