package log

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func TestJSONLinesCarryNameLevelAndFields(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, FormatJSON, zapcore.InfoLevel).Named("resolver").Named("dir")
	l.Debug("hidden")
	l.Info("found", String("key", "k"), Int("bytes", 3), Bool("ok", true), Strings("tried", []string{"env", "dir"}),
		Duration("took", time.Second), Err(errors.New("boom")), Err(nil))
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	assert.Equal(t, "resolver.dir", line["logger"])
	assert.Equal(t, "info", line["level"])
	assert.Equal(t, "found", line["msg"])
	assert.Equal(t, "k", line["key"])
	assert.EqualValues(t, 3, line["bytes"])
	assert.Equal(t, true, line["ok"])
	assert.Equal(t, []any{"env", "dir"}, line["tried"])
	assert.Equal(t, "boom", line["error"])
	assert.Equal(t, "1s", line["took"])
	ts, ok := line["ts"].(string)
	require.True(t, ok)
	assert.True(t, strings.HasSuffix(ts, "Z"), "timestamps are UTC: %s", ts)
	assert.NotContains(t, buf.String(), "hidden")
}

func TestConsoleFormatIsNotJSON(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, FormatConsole, zapcore.DebugLevel).Warn("override", String("name", "X"))
	assert.Contains(t, buf.String(), "WARN")
	assert.Contains(t, buf.String(), "override")
	assert.False(t, json.Valid(buf.Bytes()))
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"debug", "info", "warn", "error"} {
		_, err := ParseLevel(s)
		assert.NoError(t, err, s)
	}
	_, err := ParseLevel("loud")
	assert.ErrorContains(t, err, `log level "loud"`)
}

func TestAppendRFC3339NanoIsTimesFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 12, 2, 3, 4, 5, 100, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
	}
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(1<<35)-1<<33, r.Int64N(1e9)).UTC())
	}
	for _, tm := range times {
		if got, want := string(appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("%s, time.Format gives %s", got, want)
		}
	}
}
