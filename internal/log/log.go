// Package log is a thin structured logger on go.uber.org/zap/zapcore.
//
// zap's root package imports net/http, whose package initialisation costs
// measurable start-up time in a binary that starts in every task container.
// zapcore alone gives us the encoders and the level handling without it.
//
// Loggers are passed in explicitly and named for their room
// (log.Named("resolver.dir")). Fields carry keys, groups, names and counts;
// a secret's value never goes into a field. secret.Value prints only its
// length, so even a mistake there stays redacted.
package log

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
)

// Field is one structured field.
type Field = zapcore.Field

// Logger writes structured lines to one zapcore.Core.
type Logger struct {
	core zapcore.Core
	name string
}

// Level is a log level.
type Level = zapcore.Level

// The levels, for Enabled.
const (
	DebugLevel = zapcore.DebugLevel
	InfoLevel  = zapcore.InfoLevel
	WarnLevel  = zapcore.WarnLevel
	ErrorLevel = zapcore.ErrorLevel
)

// Format is how lines are encoded.
type Format string

const (
	FormatJSON    Format = "json"
	FormatConsole Format = "console"
)

// ParseLevel accepts debug, info, warn or error.
func ParseLevel(s string) (zapcore.Level, error) {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log level %q: want one of debug, info, warn, error", s)
	}
	return l, nil
}

// New builds a logger that writes lines of the given format to w at level
// and above.
func New(w io.Writer, format Format, level zapcore.Level) *Logger {
	cfg := zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		NameKey:        "logger",
		MessageKey:     "msg",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     utcRFC3339Nano,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	}
	var enc zapcore.Encoder
	if format == FormatConsole {
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout(time.TimeOnly)
		enc = zapcore.NewConsoleEncoder(cfg)
	} else {
		enc = zapcore.NewJSONEncoder(cfg)
	}
	return &Logger{core: zapcore.NewCore(enc, syncer(w), level)}
}

// syncer is zapcore.AddSync(w) without its type switch for the usual w, a
// file (stderr): the switch asks the runtime at each start whether *os.File
// has Sync, which costs more instructions than the rest of New.
func syncer(w io.Writer) zapcore.WriteSyncer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return zapcore.AddSync(w)
}

// utcRFC3339Nano prints times in UTC: log lines from many containers line
// up, and the shim need not load /etc/localtime to write one.
func utcRFC3339Nano(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	var buf [40]byte
	enc.AppendByteString(appendRFC3339Nano(buf[:0], t.UTC()))
}

// appendRFC3339Nano appends t as time.RFC3339Nano formats a UTC time,
// without the layout's parsing and the string it allocates (each log line
// has one).
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 || t.Location() != time.UTC {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, min, sec := t.Clock()
	two := func(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
	b = two(two(b, year/100), year%100)
	b = two(append(b, '-'), int(month))
	b = two(append(b, '-'), day)
	b = two(append(b, 'T'), hour)
	b = two(append(b, ':'), min)
	b = two(append(b, ':'), sec)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		digits := 9
		for ns%10 == 0 {
			ns /= 10
			digits--
		}
		var frac [9]byte
		for i := digits - 1; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		b = append(b, frac[:digits]...)
	}
	return append(b, 'Z')
}

// Nop discards everything.
func Nop() *Logger { return &Logger{core: zapcore.NewNopCore()} }

// Named returns a logger for a room; names nest with a dot.
func (l *Logger) Named(room string) *Logger {
	n := room
	if l.name != "" {
		n = l.name + "." + room
	}
	return &Logger{core: l.core, name: n}
}

// Enabled reports whether lines at level are written.
func (l *Logger) Enabled(level zapcore.Level) bool { return l.core.Enabled(level) }

func (l *Logger) write(level zapcore.Level, msg string, fields []Field) {
	if !l.core.Enabled(level) {
		return
	}
	e := zapcore.Entry{LoggerName: l.name, Time: time.Now(), Level: level, Message: msg}
	if ce := l.core.Check(e, nil); ce != nil {
		ce.Write(fields...)
	}
}

func (l *Logger) Debug(msg string, fields ...Field) { l.write(zapcore.DebugLevel, msg, fields) }
func (l *Logger) Info(msg string, fields ...Field)  { l.write(zapcore.InfoLevel, msg, fields) }
func (l *Logger) Warn(msg string, fields ...Field)  { l.write(zapcore.WarnLevel, msg, fields) }
func (l *Logger) Error(msg string, fields ...Field) { l.write(zapcore.ErrorLevel, msg, fields) }

// Sync flushes the core.
func (l *Logger) Sync() error { return l.core.Sync() }

// String is a string field.
func String(k, v string) Field { return Field{Key: k, Type: zapcore.StringType, String: v} }

// Int is an integer field.
func Int(k string, v int) Field { return Field{Key: k, Type: zapcore.Int64Type, Integer: int64(v)} }

// Bool is a boolean field.
func Bool(k string, v bool) Field {
	var i int64
	if v {
		i = 1
	}
	return Field{Key: k, Type: zapcore.BoolType, Integer: i}
}

// Float is a floating-point field.
func Float(k string, v float64) Field {
	return Field{Key: k, Type: zapcore.Float64Type, Integer: int64(math.Float64bits(v))}
}

// Duration is a duration field.
func Duration(k string, d time.Duration) Field {
	return Field{Key: k, Type: zapcore.DurationType, Integer: int64(d)}
}

// Strings is a list of strings.
func Strings(k string, v []string) Field {
	return Field{Key: k, Type: zapcore.ArrayMarshalerType, Interface: stringArray(v)}
}

// Err is the "error" field. Errors in this project name keys, never values.
func Err(err error) Field {
	if err == nil {
		return Field{Key: "error", Type: zapcore.SkipType}
	}
	return Field{Key: "error", Type: zapcore.StringType, String: err.Error()}
}

type stringArray []string

func (a stringArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, s := range a {
		enc.AppendString(s)
	}
	return nil
}

// IsTerminal reports whether f is a terminal, to choose console lines over JSON.
func IsTerminal(f *os.File) bool { return isTerminal(int(f.Fd())) }
