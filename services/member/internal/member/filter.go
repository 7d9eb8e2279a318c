package member

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Filter limits.
const (
	MaxFilterLength     = 1024
	MaxFilterConditions = 16
)

// Op is a comparison operator of a filter condition.
type Op string

// The operators. HAS (":") tests membership of a repeated field, as in AIP-160.
const (
	OpEq  Op = "="
	OpNe  Op = "!="
	OpLt  Op = "<"
	OpLe  Op = "<="
	OpGt  Op = ">"
	OpGe  Op = ">="
	OpHas Op = ":"
)

// Filter is a parsed ListMembers filter: conditions that must all hold. The zero Filter
// matches every member.
type Filter struct {
	conds []condition
}

type condition struct {
	field   string
	op      Op
	text    string    // tier, tag, store_id
	status  Status    // status
	channel Channel   // channel
	time    time.Time // create_time
}

// filterAliases maps the other names a filter may give a field to its name: the JSON names
// of the Member resource, as the JSON edge's clients write them, and tags for tag.
var filterAliases = map[string]string{
	"tags":       "tag",
	"storeId":    "store_id",
	"createTime": "create_time",
}

// filterFields says which operators each field accepts.
var filterFields = map[string][]Op{
	"status":      {OpEq, OpNe},
	"tier":        {OpEq, OpNe},
	"tag":         {OpEq, OpNe, OpHas},
	"channel":     {OpEq, OpNe},
	"store_id":    {OpEq, OpNe},
	"create_time": {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
}

// ParseFilter parses an AIP-160 subset: conditions `field op value` joined by AND, where field
// is status, tier, tag (alias tags), channel, store_id (storeId) or create_time (createTime),
// by proto or JSON name; op is = or != (and : for tag, and < <= > >= for create_time); value is
// bare or double-quoted with \" and \\ escapes. Statuses and channels are written as the API
// spells them ("ACTIVE", "STORE"); create_time is RFC 3339 or a YYYY-MM-DD date (midnight UTC).
// The empty string matches everything.
// Errors: Invalid with a violation on "filter" saying what is wrong and where.
func ParseFilter(s string) (Filter, error) {
	if len(s) > MaxFilterLength {
		return Filter{}, apperr.InvalidField("filter", "is longer than %d characters", MaxFilterLength)
	}
	p := filterParser{s: s}
	var f Filter
	p.space()
	if p.eof() {
		return f, nil
	}
	for {
		c, err := p.condition()
		if err != nil {
			return Filter{}, apperr.InvalidField("filter", "%s", err.Error())
		}
		if len(f.conds) == MaxFilterConditions {
			return Filter{}, apperr.InvalidField("filter", "has more than %d conditions", MaxFilterConditions)
		}
		f.conds = append(f.conds, c)
		p.space()
		if p.eof() {
			return f, nil
		}
		word := p.word()
		switch word {
		case "AND":
		case "OR", "NOT":
			return Filter{}, apperr.InvalidField("filter", "%s is not supported at offset %d: join conditions with AND", word, p.pos-len(word))
		default:
			return Filter{}, apperr.InvalidField("filter", "expected AND at offset %d", p.pos-len(word))
		}
		if p.space() == 0 {
			return Filter{}, apperr.InvalidField("filter", "expected a space after AND at offset %d", p.pos)
		}
	}
}

// Match reports whether m meets every condition of f. It reads only fields that are not
// personal data, so it works on redacted members.
func (f Filter) Match(m *Member) bool {
	for i := range f.conds {
		if !f.conds[i].match(m) {
			return false
		}
	}
	return true
}

// IsZero reports whether f has no condition.
func (f Filter) IsZero() bool { return len(f.conds) == 0 }

// String returns f in canonical form; ParseFilter(f.String()) is equivalent to f.
func (f Filter) String() string {
	var b strings.Builder
	for i, c := range f.conds {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(c.field)
		b.WriteByte(' ')
		b.WriteString(string(c.op))
		b.WriteByte(' ')
		switch c.field {
		case "status":
			b.WriteString(c.status.String())
		case "channel":
			b.WriteString(c.channel.String())
		case "create_time":
			b.WriteString(strconv.Quote(c.time.Format(time.RFC3339Nano)))
		default:
			b.WriteString(strconv.Quote(c.text))
		}
	}
	return b.String()
}

func (c *condition) match(m *Member) bool {
	switch c.field {
	case "status":
		return (m.Status == c.status) == (c.op == OpEq)
	case "channel":
		return (m.Channel == c.channel) == (c.op == OpEq)
	case "tier":
		return (m.Tier == c.text) == (c.op == OpEq)
	case "store_id":
		return (m.StoreID == c.text) == (c.op == OpEq)
	case "tag":
		return m.HasTag(c.text) == (c.op != OpNe)
	case "create_time":
		d := m.CreateTime.Compare(c.time)
		switch c.op {
		case OpEq:
			return d == 0
		case OpNe:
			return d != 0
		case OpLt:
			return d < 0
		case OpLe:
			return d <= 0
		case OpGt:
			return d > 0
		case OpGe:
			return d >= 0
		}
	}
	return false
}

type filterParser struct {
	s   string
	pos int
}

func (p *filterParser) eof() bool { return p.pos >= len(p.s) }

// space skips blanks and returns how many it skipped.
func (p *filterParser) space() int {
	start := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
	return p.pos - start
}

// word reads a run of identifier characters.
func (p *filterParser) word() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *filterParser) op() Op {
	rest := p.s[p.pos:]
	for _, op := range []Op{OpNe, OpLe, OpGe, OpEq, OpLt, OpGt, OpHas} {
		if strings.HasPrefix(rest, string(op)) {
			p.pos += len(op)
			return op
		}
	}
	return ""
}

// value reads a quoted string or a bare run of non-blank characters.
func (p *filterParser) value() (string, error) {
	start := p.pos
	if p.eof() {
		return "", fmt.Errorf("expected a value at offset %d", p.pos)
	}
	if p.s[p.pos] != '"' {
		for p.pos < len(p.s) && p.s[p.pos] != ' ' && p.s[p.pos] != '\t' && p.s[p.pos] != '\n' && p.s[p.pos] != '\r' {
			if p.s[p.pos] == '"' {
				return "", fmt.Errorf("unexpected quote at offset %d", p.pos)
			}
			p.pos++
		}
		return p.s[start:p.pos], nil
	}
	var b strings.Builder
	p.pos++
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) || (p.s[p.pos+1] != '"' && p.s[p.pos+1] != '\\') {
				return "", fmt.Errorf("bad escape at offset %d: only \\\" and \\\\ are allowed", p.pos)
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", fmt.Errorf("unterminated string starting at offset %d", start)
}

func (p *filterParser) condition() (condition, error) {
	at := p.pos
	field := p.word()
	if field == "" {
		return condition{}, fmt.Errorf("expected a field name at offset %d", at)
	}
	if name, ok := filterAliases[field]; ok {
		field = name
	}
	ops, ok := filterFields[field]
	if !ok {
		return condition{}, fmt.Errorf("unknown field %q at offset %d: use status, tier, tag, channel, store_id or create_time", truncate(field, 32), at)
	}
	p.space()
	opAt := p.pos
	op := p.op()
	if op == "" {
		return condition{}, fmt.Errorf("expected an operator after %s at offset %d", field, opAt)
	}
	if !containsOp(ops, op) {
		return condition{}, fmt.Errorf("operator %s does not apply to %s (offset %d)", op, field, opAt)
	}
	p.space()
	valAt := p.pos
	raw, err := p.value()
	if err != nil {
		return condition{}, err
	}
	c := condition{field: field, op: op}
	bad := func(what string) error {
		return fmt.Errorf("%s must be %s (offset %d)", field, what, valAt)
	}
	switch field {
	case "status":
		if c.status, ok = parseStatusName(raw); !ok {
			return condition{}, bad("ACTIVE, FROZEN, CLOSED or ERASED")
		}
	case "channel":
		if c.channel, ok = parseChannelName(raw); !ok {
			return condition{}, bad("ONLINE, STORE, IMPORT or THIRD_PARTY")
		}
	case "tag":
		if c.text, err = Token(raw); err != nil {
			return condition{}, bad("a tag")
		}
	case "tier", "store_id":
		if raw != "" {
			if _, err = ExternalID(raw, MaxStoreID); err != nil {
				return condition{}, bad("an id of letters, digits, '.', '_', '-' and ':'")
			}
		}
		c.text = raw
	case "create_time":
		if c.time, err = parseFilterTime(raw); err != nil {
			return condition{}, bad("an RFC 3339 time or a YYYY-MM-DD date")
		}
	}
	return c, nil
}

func containsOp(ops []Op, op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

func parseFilterTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return time.Time{}, fmt.Errorf("bad time")
	}
	return t, nil
}
