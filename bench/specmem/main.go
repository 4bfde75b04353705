// Command specmem writes the large --spec files of every format that
// bench/specmem.sh measures the shim's peak memory on.
//
//	go run ./bench/specmem -dir DIR   # prints FILE<TAB>DESCRIPTION lines
package main

import (
	"encoding/base32"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

const limit = 4 << 20 // readfile.MaxSpec

func main() {
	dir := flag.String("dir", "", "where to write the specs")
	flag.Parse()
	specs := []struct {
		name string
		data []byte
	}{
		{"empty template (baseline)", []byte(`{}`)},
		{"binary TaskSpec, 10,000 secrets, padded", binarySpec(10_000, limit-64<<10)},
		{"binary TaskTemplate, 120,000 tiny secrets (refused)", binarySpec(120_000, 0)},
		{"JSON TaskTemplate, 10,000 secrets, padded", jsonTemplate(10_000, limit-64<<10)},
		{"JSON list, 1,000,000 keys (refused)", jsonKeys(1_000_000)},
		{"annotations, 10,000 secrets, padded", annotations(10_000, limit-64<<10)},
	}
	for i, s := range specs {
		check(os.WriteFile(filepath.Join(*dir, fmt.Sprintf("%d.spec", i)), s.data, 0o600))
		fmt.Printf("%d.spec\t%s\n", i, s.name)
	}
}

func tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	if strings.Contains(s, "limit") {
		return ", " + s
	}
	return ""
}

func field(b []byte, n protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), v)
}

func secret(i int) []byte {
	var s []byte
	s = field(s, 1, []byte(fmt.Sprintf("group-%d", i)))
	s = field(s, 3, []byte(fmt.Sprintf("key-%d", i)))
	s = protowire.AppendVarint(protowire.AppendTag(s, 4, protowire.VarintType), 2)
	return s
}

func binarySpec(n, pad int) []byte {
	var sc []byte
	for i := range n {
		sc = field(sc, 2, secret(i))
	}
	tmpl := field(nil, 8, sc)
	if pad > len(tmpl) {
		tmpl = field(tmpl, 6, make([]byte, pad-len(tmpl))) // an unknown field of the template
	}
	return field(nil, 1, tmpl)
}

func jsonTemplate(n, pad int) []byte {
	var b strings.Builder
	b.WriteString(`{"securityContext": {"secrets": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"group": "group-%d", "key": "key-%d", "mountRequirement": "FILE"}`, i, i)
	}
	b.WriteString(`]}, "custom": {"x": "`)
	if pad > b.Len() {
		b.WriteString(strings.Repeat("y", pad-b.Len()))
	}
	b.WriteString(`"}}`)
	return []byte(b.String())
}

func jsonKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k"`)
	}
	b.WriteString("]")
	return []byte(b.String())
}

var flyteBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz123456").WithPadding(base32.NoPadding)

func annotations(n, pad int) []byte {
	var b strings.Builder
	for i := range n {
		text := fmt.Sprintf("key: \"key-%d\" group: \"group-%d\" mount_requirement: FILE\n", i, i)
		fmt.Fprintf(&b, "flyte.secrets/s%d=%q\n", i, flyteBase32.EncodeToString([]byte(text)))
	}
	if pad > b.Len() {
		fmt.Fprintf(&b, "other/padding=%q\n", strings.Repeat("z", pad-b.Len()))
	}
	return []byte(b.String())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
