package edge

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Domain is the ErrorInfo domain of the edge's own refusals.
const Domain = "gateway.huiyuan.dev"

// challenge is the WWW-Authenticate of every 401 (RFC 6750).
const challenge = `Bearer realm="huiyuan"`

// refuse answers with the edge's own error: code, reason and the field violations.
func (e *edge) refuse(w http.ResponseWriter, r *http.Request, code codes.Code, reason, msg string, vs []violation) {
	st := &statusBuilder{code: code, msg: msg}
	st.info(reason, nil)
	st.violations(vs)
	e.write(w, r, runtime.HTTPStatusFromCode(code), st.proto())
}

func (e *edge) tooLarge(w http.ResponseWriter, r *http.Request) {
	st := &statusBuilder{code: codes.InvalidArgument, msg: "the request body is larger than " + strconv.FormatInt(e.maxBody, 10) + " bytes"}
	st.info(ReasonPayloadTooLarge, map[string]string{"limit_bytes": strconv.FormatInt(e.maxBody, 10)})
	e.write(w, r, http.StatusRequestEntityTooLarge, st.proto())
}

// handleError is grpc-gateway's error handler: every failure of a routed call, the services'
// included. A status without an ErrorInfo (grpc-gateway's own decoding, a context error) gets a
// reason; field violations are renamed from the request's proto paths to the JSON paths the
// client sent; 401 gets its challenge and 429 its Retry-After.
func (e *edge) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	sp := st.Proto()
	var rt *route
	if p, ok := runtime.HTTPPattern(ctx); ok {
		rt = e.routes.of(r.Method, p)
	}
	hasInfo := false
	for i, d := range sp.GetDetails() {
		m, err := d.UnmarshalNew()
		if err != nil {
			continue
		}
		switch x := m.(type) {
		case *errdetails.ErrorInfo:
			hasInfo = true
		case *errdetails.BadRequest:
			if rt != nil && rt.request != nil {
				for _, v := range x.GetFieldViolations() {
					v.Field = jsonFieldPath(rt, v.GetField())
				}
				if a, err := anypb.New(x); err == nil {
					sp.Details[i] = a
				}
			}
		case *errdetails.RetryInfo:
			if d := x.GetRetryDelay(); d != nil {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(d.AsDuration().Seconds(), 1)))))
			}
		}
	}
	if !hasInfo {
		reason := defaultReason(st.Code())
		if st.Code() == codes.InvalidArgument {
			reason = ReasonInvalidValue // only grpc-gateway's decoding fails without one
		}
		if a, err := anypb.New(&errdetails.ErrorInfo{Reason: reason, Domain: Domain}); err == nil {
			sp.Details = append(sp.Details, a)
		}
	}
	e.write(w, r, runtime.HTTPStatusFromCode(st.Code()), sp)
}

// renameResultFields is grpc-gateway's forward-response option: a successful answer that
// carries statuses of its own (a batch's per-order errors: messages shaped like
// google.rpc.Status, whose repeated Any "details" hold a google.rpc.BadRequest) gets their
// field violations renamed from the request's proto paths to the JSON paths the client sent,
// as handleError renames a failed call's. gRPC callers keep the proto paths. Answers whose
// message cannot hold such details pass untouched, decided once per message type.
func (e *edge) renameResultFields(ctx context.Context, _ http.ResponseWriter, m proto.Message) error {
	if m == nil || !e.details.holds(m.ProtoReflect().Descriptor()) {
		return nil
	}
	p, ok := runtime.HTTPPattern(ctx)
	if !ok {
		return nil
	}
	rpc, _ := runtime.RPCMethod(ctx)
	rt := e.routes.ofRPC(rpc, p)
	if rt == nil || rt.request == nil {
		return nil
	}
	renameDetails(m.ProtoReflect(), func(field string) string { return jsonFieldPath(rt, field) })
	return nil
}

// detailsName is the field of a status-shaped message that holds its details.
const detailsName = "details"

// isDetails reports whether fd is a status's details: a repeated google.protobuf.Any named
// details.
func isDetails(fd protoreflect.FieldDescriptor) bool {
	return fd.Name() == detailsName && fd.IsList() && fd.Message() != nil && fd.Message().FullName() == anyName
}

const anyName protoreflect.FullName = "google.protobuf.Any"

// detailTypes remembers, per message type, whether it holds details somewhere.
type detailTypes struct{ known sync.Map } // protoreflect.FullName → bool

// holds reports whether a message of type md can hold, at any depth, a status's details.
func (d *detailTypes) holds(md protoreflect.MessageDescriptor) bool {
	if v, ok := d.known.Load(md.FullName()); ok {
		return v.(bool)
	}
	found := searchDetails(md, map[protoreflect.FullName]bool{})
	d.known.Store(md.FullName(), found)
	return found
}

func searchDetails(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if isDetails(fd) {
			return true
		}
		sub := fd.Message()
		if fd.IsMap() {
			sub = fd.MapValue().Message()
		}
		if sub != nil && sub.FullName() != anyName && searchDetails(sub, seen) {
			return true
		}
	}
	return false
}

// renameDetails renames, with rename, the field violations of every BadRequest in the details
// of every status-shaped message within m.
func renameDetails(m protoreflect.Message, rename func(string) string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case isDetails(fd):
			l := v.List()
			for i := range l.Len() {
				renameBadRequest(l.Get(i).Message().Interface(), rename)
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					renameDetails(mv.Message(), rename)
					return true
				})
			}
		case fd.Message() == nil || fd.Message().FullName() == anyName:
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				renameDetails(l.Get(i).Message(), rename)
			}
		default:
			renameDetails(v.Message(), rename)
		}
		return true
	})
}

// renameBadRequest renames the violations of d when it is an Any holding a BadRequest.
func renameBadRequest(d proto.Message, rename func(string) string) {
	a, ok := d.(*anypb.Any)
	if !ok || !a.MessageIs((*errdetails.BadRequest)(nil)) {
		return
	}
	br := &errdetails.BadRequest{}
	if err := a.UnmarshalTo(br); err != nil {
		return
	}
	for _, v := range br.GetFieldViolations() {
		v.Field = rename(v.GetField())
	}
	if b, err := proto.Marshal(br); err == nil {
		a.Value = b
	}
}

// handleRoutingError answers a path no route has (404 ROUTE_NOT_FOUND), a method the path does
// not take (405 METHOD_NOT_ALLOWED) and a path that does not parse (400).
func (e *edge) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		e.notFound(w, r)
	case http.StatusMethodNotAllowed:
		e.methodNotAllowed(w, r)
	default:
		e.refuse(w, r, codes.InvalidArgument, ReasonInvalidValue, "the request path does not parse", nil)
	}
}

func (e *edge) notFound(w http.ResponseWriter, r *http.Request) {
	st := &statusBuilder{code: codes.NotFound, msg: "no route for " + r.Method + " " + r.URL.Path}
	st.info(ReasonRouteNotFound, nil)
	e.write(w, r, http.StatusNotFound, st.proto())
}

func (e *edge) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	st := &statusBuilder{code: codes.Unimplemented, msg: r.URL.Path + " does not take " + r.Method}
	st.info(ReasonMethodNotAllowed, map[string]string{"method": r.Method})
	e.write(w, r, http.StatusMethodNotAllowed, st.proto())
}

// write sends sp as the JSON error body with httpStatus.
func (e *edge) write(w http.ResponseWriter, _ *http.Request, httpStatus int, sp proto.Message) {
	body, err := protojson.Marshal(sp)
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error","details":[]}`)
		httpStatus = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if httpStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", challenge)
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// statusBuilder assembles a google.rpc.Status with its details.
type statusBuilder struct {
	code    codes.Code
	msg     string
	details []proto.Message
}

func (b *statusBuilder) info(reason string, md map[string]string) {
	b.details = append(b.details, &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md})
}

func (b *statusBuilder) violations(vs []violation) {
	if len(vs) == 0 {
		return
	}
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.field, Description: v.description, Reason: v.reason})
	}
	b.details = append(b.details, br)
}

func (b *statusBuilder) proto() proto.Message {
	st := status.New(b.code, b.msg).Proto()
	for _, d := range b.details {
		if a, err := anypb.New(d); err == nil {
			st.Details = append(st.Details, a)
		}
	}
	return st
}

// defaultReason names a code for statuses that carry no ErrorInfo, as grpcx does.
func defaultReason(c codes.Code) string {
	switch c {
	case codes.Canceled:
		return "CANCELLED"
	case codes.InvalidArgument:
		return "INVALID_ARGUMENT"
	case codes.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case codes.NotFound:
		return "NOT_FOUND"
	case codes.AlreadyExists:
		return "ALREADY_EXISTS"
	case codes.PermissionDenied:
		return "PERMISSION_DENIED"
	case codes.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case codes.FailedPrecondition:
		return "FAILED_PRECONDITION"
	case codes.Aborted:
		return "ABORTED"
	case codes.Unimplemented:
		return "UNIMPLEMENTED"
	case codes.Unavailable:
		return "UNAVAILABLE"
	case codes.Unauthenticated:
		return "UNAUTHENTICATED"
	default:
		return "INTERNAL"
	}
}

// segment is one step of a field path: a name and what follows it ("[2]", "[\"k\"]").
var segment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)$`)

// jsonFieldPath renames a violation's proto path (`member.store_id`, `items[2].unit_price_minor`)
// to the path the client sent: JSON names, the document's name for a path variable, and for a
// route whose body is one field, the path inside that body.
func jsonFieldPath(rt *route, field string) string {
	if field == "" {
		return field
	}
	for param, name := range rt.Params {
		if field == param {
			return name
		}
	}
	segs := strings.Split(field, ".")
	md := rt.request
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		m := segment.FindStringSubmatch(s)
		if m == nil || md == nil {
			out = append(out, segs[i:]...)
			break
		}
		fd := md.Fields().ByName(protoreflect.Name(m[1]))
		if fd == nil {
			fd = md.Fields().ByJSONName(m[1])
		}
		if fd == nil {
			out = append(out, segs[i:]...)
			break
		}
		out = append(out, fd.JSONName()+m[2])
		md = fd.Message()
		if fd.IsMap() {
			md = fd.MapValue().Message()
		}
	}
	if rt.Body != "" && rt.Body != "*" && len(segs) > 1 && segs[0] == rt.Body {
		out = out[1:]
	}
	return strings.Join(out, ".")
}
