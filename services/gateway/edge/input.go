package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// strictInput is the grpc-gateway middleware that refuses, before anything reaches a service,
// a body or query the route's request does not take exactly: too large, not JSON, unknown
// fields, values of the wrong type or out of range, enum names outside the set. It also moves
// an Idempotency-Key (or client X-Request-Id) header into the request id when the request has
// none.
func (e *edge) strictInput(next runtime.HandlerFunc) runtime.HandlerFunc {
	// grpc-gateway wraps each registered handler, one pattern, in its own middleware: its
	// route is looked up once per method (a pattern's String and the rewrite cost 4% of a get).
	var known sync.Map // method → *route
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		p, ok := runtime.HTTPPattern(r.Context())
		var rt *route
		if v, hit := known.Load(r.Method); hit && ok {
			rt = v.(*route)
		} else if rt = e.routes.of(r.Method, p); ok {
			known.Store(r.Method, rt)
		}
		if !ok || rt == nil || rt.request == nil {
			next(w, r, pathParams)
			return
		}
		if vs := checkQuery(r.URL.Query(), rt, pathParams); len(vs) > 0 {
			e.refuse(w, r, codes.InvalidArgument, vs[0].reason, "invalid query parameters", vs)
			return
		}
		if md := rt.body(); md != nil {
			raw, err := readBody(r, e.maxBody)
			if err != nil {
				e.tooLarge(w, r)
				return
			}
			var msg proto.Message
			if raw, msg, ok = e.checkBody(w, r, rt, md, raw); !ok {
				return
			}
			r.Body = &checkedBody{Reader: bytes.NewReader(raw), msg: msg}
			r.ContentLength = int64(len(raw))
		} else if !e.queryRequestID(w, r, rt) { // a DELETE's request id can only be in the query
			return
		}
		next(w, r, pathParams)
	}
}

// undefinedEnum reports whether m holds an enum number its enum does not define: protojson
// takes any number for an open enum, API.md wants a value outside the set refused.
func undefinedEnum(m protoreflect.Message) bool {
	found := false
	bad := func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Enum() != nil:
			return fd.Enum().Values().ByNumber(v.Enum()) == nil
		case fd.Message() != nil:
			return undefinedEnum(v.Message())
		}
		return false
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = bad(fd, l.Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				found = bad(fd.MapValue(), mv)
				return !found
			})
		default:
			found = bad(fd, v)
		}
		return !found
	})
	return found
}

// readBody reads at most limit bytes of the body; more is an error.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, errors.New("body too large")
	}
	return raw, nil
}

// checkBody refuses a body md does not take and sets its request id from the headers; it
// returns the body to forward, the message it decoded (nil if the body it returns is not the
// one it decoded), and false when it has answered.
func (e *edge) checkBody(w http.ResponseWriter, r *http.Request, rt *route, md protoreflect.MessageDescriptor, raw []byte) ([]byte, proto.Message, bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	msg := newMessage(md)
	err := (protojson.UnmarshalOptions{}).Unmarshal(raw, msg)
	if err != nil && !json.Valid(raw) { // only JSON decodes as a message: no need to look first
		var syntax any
		err := json.Unmarshal(raw, &syntax) // for the error's offset
		e.refuse(w, r, codes.InvalidArgument, ReasonMalformedJSON, "the body is not valid JSON: "+jsonError(err), nil)
		return nil, nil, false
	}
	if err != nil && !utf8.Valid(raw) { // JSON is UTF-8 (RFC 8259); encoding/json lets it pass
		e.refuse(w, r, codes.InvalidArgument, ReasonMalformedJSON, "the body is not valid UTF-8", nil)
		return nil, nil, false
	}
	if err != nil || undefinedEnum(msg.ProtoReflect()) {
		vs := checkJSON(raw, md, "")
		if len(vs) == 0 {
			vs = []violation{{reason: ReasonInvalidValue, description: "the body does not decode as " + string(md.Name())}}
		}
		e.refuse(w, r, codes.InvalidArgument, vs[0].reason, "invalid request body", vs)
		return nil, nil, false
	}
	if rt.Body != "*" {
		// The request id is outside the body: grpc-gateway reads it from the query.
		return raw, msg, e.queryRequestID(w, r, rt)
	}
	key := requestIDHeader(r)
	if key == "" || rt.request.Fields().ByName("request_id") == nil {
		return raw, msg, true
	}
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return raw, msg, true // not an object: protojson accepted it, so it is a well-known type
	}
	for _, name := range []string{"requestId", "request_id"} {
		if v, ok := obj[name]; ok {
			var body string
			if json.Unmarshal(v, &body) == nil && body != "" && body != key {
				e.refuse(w, r, codes.InvalidArgument, ReasonInvalidValue, "conflicting request ids", []violation{conflict()})
				return nil, nil, false
			}
			delete(obj, name)
		}
	}
	obj["requestId"], _ = json.Marshal(key)
	out, err := json.Marshal(obj)
	if err != nil {
		return raw, msg, true
	}
	return out, nil, true // the gateway decodes the body with the request id put in
}

// queryRequestID puts the request id a client sent as a header into the query, where
// grpc-gateway reads it for a route whose body is not the whole request (a PATCH's, a
// DELETE's); it returns false when it has answered. A query request id that differs from
// the header is refused, as a body's is.
func (e *edge) queryRequestID(w http.ResponseWriter, r *http.Request, rt *route) bool {
	key := requestIDHeader(r)
	if key == "" || rt.request.Fields().ByName("request_id") == nil {
		return true
	}
	if _, param := rt.Params["request_id"]; param {
		return true
	}
	q := r.URL.Query()
	for _, name := range []string{"requestId", "request_id"} {
		if got := q.Get(name); got != "" && got != key {
			e.refuse(w, r, codes.InvalidArgument, ReasonInvalidValue, "conflicting request ids", []violation{conflict()})
			return false
		}
		q.Del(name) // one name only: grpc-gateway refuses a field given under both
	}
	q.Set("requestId", key)
	r.URL.RawQuery = q.Encode()
	return true
}

func conflict() violation {
	return violation{field: "requestId", reason: ReasonInvalidValue,
		description: "the requestId and the Idempotency-Key (or X-Request-Id) header differ"}
}

// requestIDHeader is the request id a client sent as a header: Idempotency-Key, else its own
// X-Request-Id.
func requestIDHeader(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("Idempotency-Key")); k != "" {
		return k
	}
	return clientRequestID(r)
}

// jsonError describes a JSON syntax error with its offset.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Error()
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// checkQuery refuses query parameters the route's request does not take: unknown ones, those
// naming the body or a path variable, and values grpc-gateway cannot parse as the field.
func checkQuery(q url.Values, rt *route, pathParams map[string]string) []violation {
	var out []violation
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	given := map[string]string{} // the key each field path was given under
	for _, k := range keys {
		fields, ok := resolvePath(rt.request, k)
		if !ok {
			out = append(out, violation{field: k, reason: ReasonUnknownField, description: fmt.Sprintf("unknown query parameter %q", k)})
			continue
		}
		path := fieldPath(fields)
		if _, param := rt.Params[path]; param || rt.Body == "*" || (rt.Body != "" && string(fields[0].Name()) == rt.Body) {
			out = append(out, violation{field: k, reason: ReasonUnknownField, description: fmt.Sprintf("%q is not a query parameter of this route", k)})
			continue
		}
		if first, dup := given[path]; dup { // grpc-gateway refuses a field given under both its names
			out = append(out, violation{field: k, reason: ReasonInvalidValue, description: fmt.Sprintf("%q and %q are the same parameter, given twice", first, k)})
			continue
		}
		given[path] = k
		msg := dynamicpb.NewMessage(rt.request)
		if err := runtime.PopulateQueryParameters(msg, url.Values{k: q[k]}, utilities.NewDoubleArray(nil)); err != nil {
			out = append(out, violation{field: k, reason: ReasonInvalidValue, description: queryError(fields[len(fields)-1], q[k])})
		}
	}
	return out
}

func queryError(fd protoreflect.FieldDescriptor, vals []string) string {
	if fd.Enum() != nil {
		return fmt.Sprintf("%q is not a %s: want one of %s", strings.Join(vals, ","), fd.Enum().Name(), strings.Join(enumNames(fd.Enum()), ", "))
	}
	if len(vals) > 1 && !fd.IsList() {
		return "given more than once"
	}
	return fmt.Sprintf("%q is not a valid %s", strings.Join(vals, ","), kindName(fd))
}

func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "32-bit integer"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "64-bit integer"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "non-negative integer"
	case protoreflect.MessageKind:
		return string(fd.Message().Name())
	}
	return fd.Kind().String()
}

// fieldPath is the dotted proto name of fields ("page_size", "cart.store_id").
func fieldPath(fields []protoreflect.FieldDescriptor) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = string(f.Name())
	}
	return strings.Join(names, ".")
}

// resolvePath finds the fields a dotted path names, each segment by its JSON or proto name.
func resolvePath(md protoreflect.MessageDescriptor, path string) ([]protoreflect.FieldDescriptor, bool) {
	var out []protoreflect.FieldDescriptor
	for _, seg := range strings.Split(path, ".") {
		if md == nil {
			return nil, false
		}
		fd := md.Fields().ByJSONName(seg)
		if fd == nil {
			fd = md.Fields().ByTextName(seg)
		}
		if fd == nil {
			return nil, false
		}
		out = append(out, fd)
		md = fd.Message()
		if fd.IsMap() {
			md = nil
		}
	}
	return out, true
}
