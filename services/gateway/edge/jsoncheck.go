package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Reasons of the edge's own refusals.
const (
	ReasonMalformedJSON    = "MALFORMED_JSON"
	ReasonUnknownField     = "UNKNOWN_FIELD"
	ReasonInvalidValue     = "INVALID_VALUE"
	ReasonPayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	ReasonRouteNotFound    = "ROUTE_NOT_FOUND"
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	ReasonUnauthenticated  = "UNAUTHENTICATED"
)

// violation is one thing wrong with the input, named by the JSON path the client sent.
type violation struct {
	field, reason, description string
}

// maxViolations bounds how many problems one answer lists.
const maxViolations = 20

// checker explains why protojson refused a body: it walks the JSON against the message
// descriptor and names every unknown field, wrong type and out-of-range value by its path.
// It only runs on bodies protojson already refused, so it never turns a good request away.
type checker struct {
	out []violation
}

func (c *checker) add(field, reason, format string, args ...any) {
	if len(c.out) < maxViolations {
		c.out = append(c.out, violation{field: field, reason: reason, description: fmt.Sprintf(format, args...)})
	}
}

// checkJSON returns the violations of raw (valid JSON) as a message md; prefix is prepended to
// every path.
func checkJSON(raw []byte, md protoreflect.MessageDescriptor, prefix string) []violation {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil
	}
	c := &checker{}
	c.message(v, md, prefix)
	return c.out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// message checks v as md's JSON form, the well-known types' special forms included.
func (c *checker) message(v any, md protoreflect.MessageDescriptor, path string) {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		if s, ok := v.(string); !ok {
			c.add(path, ReasonInvalidValue, "must be an RFC 3339 time string")
		} else if !takes(&timestamppb.Timestamp{}, v) {
			c.add(path, ReasonInvalidValue, "%q is not an RFC 3339 time (such as 2026-05-01T08:00:00Z; at most 9 fraction digits, years 0001 to 9999)", s)
		}
		return
	case "google.protobuf.Duration":
		if s, ok := v.(string); !ok || !strings.HasSuffix(s, "s") {
			c.add(path, ReasonInvalidValue, "must be a duration in seconds such as \"3.5s\"")
		} else if !takes(&durationpb.Duration{}, v) {
			c.add(path, ReasonInvalidValue, "%q is not a duration such as \"3.5s\"", s)
		}
		return
	case "google.protobuf.FieldMask":
		if s, ok := v.(string); !ok {
			c.add(path, ReasonInvalidValue, "must be a comma-separated list of field names")
		} else if !takes(&fieldmaskpb.FieldMask{}, v) {
			c.add(path, ReasonInvalidValue, "%q is not a comma-separated list of lowerCamelCase field paths", s)
		}
		return
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.Any", "google.protobuf.Empty":
		return // any JSON of the right shape; protojson's message says what is wrong
	}
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") && strings.HasSuffix(string(md.Name()), "Value") {
		c.scalar(v, md.Fields().ByName("value"), path) // wrappers: the bare value
		return
	}
	obj, ok := v.(object)
	if !ok {
		c.add(path, ReasonInvalidValue, "must be a JSON object")
		return
	}
	members := slices.Clone(obj)
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	given := map[protoreflect.FieldNumber]string{} // the key each field was given under
	oneofs := map[protoreflect.FullName]string{}   // the key that set each oneof
	for _, m := range members {
		fd := md.Fields().ByJSONName(m.key)
		if fd == nil {
			fd = md.Fields().ByTextName(m.key)
		}
		p := join(path, m.key)
		if fd == nil {
			c.add(p, ReasonUnknownField, "unknown field %q", m.key)
			continue
		}
		if first, dup := given[fd.Number()]; dup { // protojson refuses even a null given twice
			if first == m.key {
				c.add(p, ReasonInvalidValue, "%q is given twice", m.key)
			} else {
				c.add(p, ReasonInvalidValue, "%q and %q are the same field, given twice", first, m.key)
			}
			continue
		}
		given[fd.Number()] = m.key
		if od := fd.ContainingOneof(); od != nil && m.value != nil {
			if first, set := oneofs[od.FullName()]; set {
				c.add(p, ReasonInvalidValue, "%q and %q are one choice (%s): give one of them", first, m.key, od.Name())
				continue
			}
			oneofs[od.FullName()] = m.key
		}
		c.field(m.value, fd, p)
	}
}

// field checks v as the value of fd.
func (c *checker) field(v any, fd protoreflect.FieldDescriptor, path string) {
	if v == nil {
		return // null is the default value
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(object)
		if !ok {
			c.add(path, ReasonInvalidValue, "must be a JSON object")
			return
		}
		keys := map[string]bool{}
		for _, m := range obj {
			p := fmt.Sprintf("%s[%q]", path, m.key)
			if keys[m.key] {
				c.add(p, ReasonInvalidValue, "the key %q is given twice", m.key)
				continue
			}
			keys[m.key] = true
			if m.value == nil && !nullable(fd.MapValue()) {
				c.add(p, ReasonInvalidValue, "a map value cannot be null")
				continue
			}
			c.scalar(m.value, fd.MapValue(), p)
		}
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			c.add(path, ReasonInvalidValue, "must be a JSON array")
			return
		}
		for i, e := range arr {
			p := fmt.Sprintf("%s[%d]", path, i)
			if e == nil && !nullable(fd) {
				c.add(p, ReasonInvalidValue, "a list element cannot be null")
				continue
			}
			c.scalar(e, fd, p)
		}
	default:
		c.scalar(v, fd, path)
	}
}

// scalar checks one value of fd's kind (an element, for lists and maps).
func (c *checker) scalar(v any, fd protoreflect.FieldDescriptor, path string) {
	if v == nil {
		return
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		c.message(v, fd.Message(), path)
	case protoreflect.EnumKind:
		c.enum(v, fd.Enum(), path)
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			c.add(path, ReasonInvalidValue, "must be true or false")
		}
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			c.add(path, ReasonInvalidValue, "must be a string")
		}
	case protoreflect.BytesKind:
		if _, ok := v.(string); !ok || !takes(&wrapperspb.BytesValue{}, v) {
			c.add(path, ReasonInvalidValue, "must be a base64 string")
		}
	case protoreflect.FloatKind:
		if !takes(&wrapperspb.FloatValue{}, v) {
			c.add(path, ReasonInvalidValue, "must be a number in the range of a 32-bit float, or \"NaN\", \"Infinity\", \"-Infinity\"")
		}
	case protoreflect.DoubleKind:
		if !takes(&wrapperspb.DoubleValue{}, v) {
			c.add(path, ReasonInvalidValue, "must be a number, or \"NaN\", \"Infinity\", \"-Infinity\"")
		}
	default:
		c.integer(v, fd.Kind(), path)
	}
}

// integer checks an integer field: a JSON number or a string holding one, whole and in range,
// in exactly the forms protojson takes (1e2 is 100, 0x10 is no number).
func (c *checker) integer(v any, k protoreflect.Kind, path string) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case string:
		s = n
	default:
		c.add(path, ReasonInvalidValue, "must be an integer (a number, or a decimal string)")
		return
	}
	m, lo, hi := intWrapper(k)
	if takes(m, v) {
		return
	}
	// Compared as floats: an integer's exponent can be huge, and f.Int would spell it out.
	if f, ok := new(big.Float).SetString(s); ok && json.Valid([]byte(s)) && f.IsInt() &&
		(f.Cmp(new(big.Float).SetInt(lo)) < 0 || f.Cmp(new(big.Float).SetInt(hi)) > 0) {
		c.add(path, ReasonInvalidValue, "%s is out of range: want %s to %s", s, lo, hi)
		return
	}
	c.add(path, ReasonInvalidValue, "%q is not an integer (decimal digits, as a number or a string)", s)
}

// intWrapper is the wrapper whose JSON form is a bare integer of kind k, and k's range.
func intWrapper(k protoreflect.Kind) (m proto.Message, lo, hi *big.Int) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return &wrapperspb.Int32Value{}, big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return &wrapperspb.UInt32Value{}, big.NewInt(0), big.NewInt(math.MaxUint32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return &wrapperspb.UInt64Value{}, big.NewInt(0), new(big.Int).SetUint64(math.MaxUint64)
	default:
		return &wrapperspb.Int64Value{}, big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	}
}

// takes reports whether protojson decodes the JSON value v as m. The check asks protojson
// itself about numbers, times, durations, field masks and base64, so it refuses exactly
// what protojson refuses and names the field; its own grammars drifted (0x10, ten fraction
// digits).
func takes(m proto.Message, v any) bool {
	raw, err := json.Marshal(v) // a json.Number as the body wrote it
	return err == nil && protojson.Unmarshal(raw, m) == nil
}

// nullable reports whether null is a value of fd's type, not only its absence: protojson
// takes a null list element or map value only for google.protobuf.Value and NullValue.
func nullable(fd protoreflect.FieldDescriptor) bool {
	if md := fd.Message(); md != nil {
		return md.FullName() == "google.protobuf.Value"
	}
	if ed := fd.Enum(); ed != nil {
		return ed.FullName() == "google.protobuf.NullValue"
	}
	return false
}

// enum checks an enum value: one of its names, or the number of one.
func (c *checker) enum(v any, ed protoreflect.EnumDescriptor, path string) {
	if ed.FullName() == "google.protobuf.NullValue" {
		return
	}
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) != nil {
			return
		}
	case json.Number: // an int32 in protojson's number forms (1e0 is 1)
		var n wrapperspb.Int32Value
		if takes(&n, x) && ed.Values().ByNumber(protoreflect.EnumNumber(n.GetValue())) != nil {
			return
		}
	}
	c.add(path, ReasonInvalidValue, "%s is not a %s: want one of %s", jsonText(v), ed.Name(), strings.Join(enumNames(ed), ", "))
}

// enumNames are the values a client may send: every name but the zero value's.
func enumNames(ed protoreflect.EnumDescriptor) []string {
	var out []string
	for i := 1; i < ed.Values().Len(); i++ {
		out = append(out, string(ed.Values().Get(i).Name()))
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
