package edge

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/huiyuan-dev/huiyuan/gen/openapi"
)

// route is one JSON route of gen/openapi's route table, with its request message resolved.
type route struct {
	Method  string            `json:"method"`
	Pattern string            `json:"pattern"`
	RPC     string            `json:"rpc"`
	Body    string            `json:"body"`
	Path    string            `json:"path"`
	Params  map[string]string `json:"params"`

	request protoreflect.MessageDescriptor // nil when the RPC is not linked into this binary
}

// body is the descriptor the request body decodes into: the request, one of its fields, or nil
// for a route without a body.
func (r *route) body() protoreflect.MessageDescriptor {
	switch {
	case r.request == nil || r.Body == "":
		return nil
	case r.Body == "*":
		return r.request
	}
	fd := r.request.Fields().ByName(protoreflect.Name(r.Body))
	if fd == nil || fd.Message() == nil {
		return nil
	}
	return fd.Message()
}

// routes finds a route by the method and grpc-gateway pattern of a request.
type routes map[string]*route

func loadRoutes() (routes, error) {
	var table struct {
		Routes []*route `json:"routes"`
	}
	if err := json.Unmarshal(openapi.Routes, &table); err != nil {
		return nil, fmt.Errorf("edge: read the route table: %w", err)
	}
	out := routes{}
	for _, r := range table.Routes {
		name := strings.Replace(strings.TrimPrefix(r.RPC, "/"), "/", ".", 1)
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
			if md, ok := d.(protoreflect.MethodDescriptor); ok {
				r.request = md.Input()
			}
		}
		out[r.Method+" "+r.Pattern] = r
	}
	return out, nil
}

// ofRPC returns the route of rpc (a full method name, "/pkg.Service/Method") whose pattern
// grpc-gateway matched, for code that sees the call's context but not its request.
func (rs routes) ofRPC(rpc string, p runtime.Pattern) *route {
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		if rt := rs.of(m, p); rt != nil && rt.RPC == rpc {
			return rt
		}
	}
	return nil
}

// captureSpec is the "=*" a pattern's String gives each variable; the table has none.
var captureSpec = regexp.MustCompile(`=[^}]*\}`)

// of returns the route grpc-gateway matched for a request (nil outside a route).
func (rs routes) of(method string, p runtime.Pattern) *route {
	return rs[method+" "+captureSpec.ReplaceAllString(p.String(), "}")]
}
