package auditlog

import (
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// Record is one access to personal data: who (role, key or member), whose (member ids), what.
// It never carries the personal data itself.
type Record struct {
	Time              time.Time
	Tenant            string
	Action            string // such as "member.get"
	Role              string
	KeyID             string
	PrincipalMemberID string
	MemberIDs         []string
}

// Logger writes Records as JSON lines, each in a single Write so concurrent records never
// interleave. It formats by hand because it runs on every read of personal data, where a
// reflective encoder cost more than the read itself.
type Logger struct {
	w    io.Writer
	bufs sync.Pool
}

// NewLogger returns a Logger writing to w (a *File in production).
func NewLogger(w io.Writer) *Logger {
	return &Logger{w: w, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// Log writes r. The error is the writer's.
func (l *Logger) Log(r Record) error {
	bp := l.bufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","msg":"personal data read","tenant":`...)
	b = appendString(b, r.Tenant)
	b = append(b, `,"action":`...)
	b = appendString(b, r.Action)
	b = append(b, `,"role":`...)
	b = appendString(b, r.Role)
	b = append(b, `,"key_id":`...)
	b = appendString(b, r.KeyID)
	b = append(b, `,"principal_member_id":`...)
	b = appendString(b, r.PrincipalMemberID)
	b = append(b, `,"member_ids":[`...)
	for i, id := range r.MemberIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, id)
	}
	b = append(b, "]}\n"...)
	_, err := l.w.Write(b)
	*bp = b
	l.bufs.Put(bp)
	return err
}

// appendString appends s as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, so any input yields valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
