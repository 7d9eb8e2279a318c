package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// route is one JSON route as the edge looks it up: by method and grpc-gateway pattern.
type route struct {
	Method  string            `json:"method"`
	Pattern string            `json:"pattern"`        // variables by proto field path, as proto/gateway.yaml has them
	RPC     string            `json:"rpc"`            // full gRPC method
	Body    string            `json:"body,omitempty"` // "*", a request field, or none
	Path    string            `json:"path"`           // as the document shows it
	Params  map[string]string `json:"params,omitempty"`
}

const (
	bearerScheme  = "bearer"
	metricsScheme = "metricsKey"
	errorSchema   = "googleRpcStatus"
)

// build completes doc and returns the route table.
func build(doc *openapi3.T, rules []binding, cat []reason, version string) ([]route, error) {
	doc.Info = &openapi3.Info{
		Title:   "Huiyuan",
		Version: version,
		Description: "The JSON edge of Huiyuan, the membership and loyalty backend. Every /v1 call sends " +
			"`Authorization: Bearer <key>` (an API key, or a member token). Errors share one shape, " +
			"`{code, message, details}`, whose `google.rpc.ErrorInfo` detail carries a stable `reason`; " +
			"bad input also has a `google.rpc.BadRequest` detail whose field violations name the JSON path " +
			"the client sent. Each response carries `X-Request-Id`.",
	}
	doc.Servers = openapi3.Servers{{URL: "http://127.0.0.1:8080", Description: "`make run` on this machine"}}
	if doc.Components == nil {
		doc.Components = &openapi3.Components{}
	}
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{
		bearerScheme: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
			Description: "An API key (`hy_...`) or a member token."}},
		metricsScheme: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
			Description: "The metrics key (`HUIYUAN_METRICS_KEY`), required only when one is configured."}},
	}
	doc.Security = openapi3.SecurityRequirements{{bearerScheme: []string{}}}
	if s := doc.Components.Schemas[errorSchema]; s == nil || s.Value == nil {
		return nil, fmt.Errorf("the Swagger document has no %s schema", errorSchema)
	} else {
		s.Value.Description = "The error shape of every failure: `code` is the gRPC code, `details` holds a " +
			"`google.rpc.ErrorInfo` whose `reason` tells failures apart, and for bad input a " +
			"`google.rpc.BadRequest` whose field violations name JSON paths (`member.storeId`, `order.items[2].quantity`)."
	}

	routes, err := rebuildPaths(doc, rules, cat)
	if err != nil {
		return nil, err
	}
	addEdgePaths(doc)
	dropUnusedTags(doc)
	stripLintDirectives(doc)
	if err := dropUnusedSchemas(doc); err != nil {
		return nil, err
	}
	return routes, nil
}

// rebuildPaths renames the path parameters as API.md has them, matches each operation with its
// HTTP rule, and gives it its error responses and request id header.
func rebuildPaths(doc *openapi3.T, rules []binding, cat []reason) ([]route, error) {
	byKey := map[string]binding{}
	for _, b := range rules {
		byKey[b.Method+" "+jsonTemplate(b.Path)] = b
	}
	paths := openapi3.NewPaths()
	var routes []route
	for _, key := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(key)
		for method, op := range item.Operations() {
			b, ok := byKey[method+" "+key]
			if !ok {
				return nil, fmt.Errorf("%s %s: no HTTP rule in the gateway configuration", method, key)
			}
			docPath, params := renameParams(b.Path)
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInPath {
					p.Value.Name = params[protoOfJSON(b.Path, p.Value.Name)]
				}
			}
			facts := operationFacts{rpc: b.RPC, hasBody: op.RequestBody != nil, mutating: takesRequestID(doc, op)}
			if facts.mutating {
				op.Parameters = append(op.Parameters, idempotencyHeader())
			}
			addErrors(doc, op, cat, facts)
			target := paths.Value(docPath)
			if target == nil {
				target = &openapi3.PathItem{}
				paths.Set(docPath, target)
			}
			if target.GetOperation(method) != nil {
				return nil, fmt.Errorf("%s %s and another route share the document path %s", method, key, docPath)
			}
			target.SetOperation(method, op)
			routes = append(routes, route{Method: method, Pattern: b.Path, RPC: b.RPC, Body: b.Body, Path: docPath, Params: params})
		}
	}
	slices.SortFunc(routes, func(a, b route) int { return strings.Compare(a.Pattern+" "+a.Method, b.Pattern+" "+b.Method) })
	doc.Paths = paths
	return routes, nil
}

var variable = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// jsonTemplate spells a template's variables as protoc-gen-openapiv2 does with
// json_names_for_fields: each segment of the field path in lowerCamelCase.
func jsonTemplate(tmpl string) string {
	return variable.ReplaceAllStringFunc(tmpl, func(v string) string {
		m := variable.FindStringSubmatch(v)
		return "{" + jsonPath(m[1]) + "}"
	})
}

func jsonPath(protoPath string) string {
	segs := strings.Split(protoPath, ".")
	for i, s := range segs {
		segs[i] = jsonName(s)
	}
	return strings.Join(segs, ".")
}

// jsonName is protobuf's default JSON name of a field: lowerCamelCase of the proto name.
func jsonName(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
		switch {
		case r == '_':
			upper = true
		case upper && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			upper = false
		default:
			b.WriteRune(r)
			upper = false
		}
	}
	return b.String()
}

// protoOfJSON finds the proto field path of tmpl's variable whose JSON spelling is name.
func protoOfJSON(tmpl, name string) string {
	for _, m := range variable.FindAllStringSubmatch(tmpl, -1) {
		if jsonPath(m[1]) == name {
			return m[1]
		}
	}
	return name
}

// renameParams returns the template as the document shows it and the document's name of each
// variable (by proto field path). The first variable, when it names the resource of the
// collection before it (`members/{member_id}`, `members/{member.id}`), is `{id}`, as API.md
// writes `/v1/members/{id}`; the others keep their JSON names.
func renameParams(tmpl string) (string, map[string]string) {
	names := map[string]string{}
	first := true
	out := variable.ReplaceAllStringFunc(tmpl, func(v string) string {
		m := variable.FindStringSubmatch(v)
		name := jsonPath(m[1])
		if first {
			first = false
			before := tmpl[:strings.Index(tmpl, v)]
			segs := strings.Split(strings.TrimSuffix(before, "/"), "/")
			if namesResource(name, segs[len(segs)-1]) {
				name = "id"
			}
		}
		names[m[1]] = name
		return "{" + name + "}"
	})
	return out, names
}

// namesResource reports whether a path variable (a JSON name) is the id of the collection before
// it: `memberId` or `member.id` after `members`; for a compound collection its last word too,
// `templateId` or `template.id` after `couponTemplates`.
func namesResource(name, collection string) bool {
	singular := collection
	switch {
	case strings.HasSuffix(singular, "ches"), strings.HasSuffix(singular, "shes"), strings.HasSuffix(singular, "xes"):
		singular = strings.TrimSuffix(singular, "es")
	default:
		singular = strings.TrimSuffix(singular, "s")
	}
	nouns := []string{singular}
	if i := strings.LastIndexFunc(singular, unicode.IsUpper); i > 0 {
		nouns = append(nouns, strings.ToLower(singular[i:i+1])+singular[i+1:])
	}
	for _, n := range nouns {
		if name == n+"Id" || name == n+".id" {
			return true
		}
	}
	return false
}

// takesRequestID reports whether the operation takes a requestId, in its body or (PATCH and
// DELETE, whose body is the resource or nothing) in its query: a mutating call.
func takesRequestID(doc *openapi3.T, op *openapi3.Operation) bool {
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == openapi3.ParameterInQuery && p.Value.Name == "requestId" {
			return true
		}
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return false
	}
	s := mt.Schema.Value
	if s == nil && mt.Schema.Ref != "" {
		if ref := doc.Components.Schemas[strings.TrimPrefix(mt.Schema.Ref, "#/components/schemas/")]; ref != nil {
			s = ref.Value
		}
	}
	return s != nil && s.Properties["requestId"] != nil
}

func idempotencyHeader() *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: &openapi3.Parameter{
		Name: "Idempotency-Key", In: openapi3.ParameterInHeader,
		Description: "The request id, when the body or the query has no `requestId` (X-Request-Id is taken " +
			"too). A different value in both is INVALID_VALUE.",
		Schema: &openapi3.SchemaRef{Value: openapi3.NewStringSchema().WithMaxLength(128)},
	}}
}

// addErrors gives op one response per HTTP status its reasons can have, each with the shared
// error schema and a description (and x-reasons list) of those reasons.
func addErrors(doc *openapi3.T, op *openapi3.Operation, cat []reason, facts operationFacts) {
	byStatus := map[int][]reason{}
	for _, r := range cat {
		if r.appliesTo(facts) {
			byStatus[r.Status] = append(byStatus[r.Status], r)
		}
	}
	for status, rs := range byStatus {
		var desc strings.Builder
		desc.WriteString(http.StatusText(status) + ". Reasons:\n")
		names := make([]string, len(rs))
		for i, r := range rs {
			names[i] = r.Reason
			fmt.Fprintf(&desc, "- `%s`: %s\n", r.Reason, r.Description)
		}
		resp := openapi3.NewResponse().WithDescription(strings.TrimSuffix(desc.String(), "\n")).
			WithContent(openapi3.NewContentWithJSONSchemaRef(errorRef(doc)))
		resp.Extensions = map[string]any{"x-reasons": names}
		switch status {
		case http.StatusTooManyRequests:
			resp.Headers = openapi3.Headers{"Retry-After": header("Seconds to wait before trying again.", openapi3.NewIntegerSchema())}
		case http.StatusUnauthorized:
			resp.Headers = openapi3.Headers{"WWW-Authenticate": header("`Bearer realm=\"huiyuan\"`.", openapi3.NewStringSchema())}
		}
		op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: resp})
	}
}

func header(desc string, s *openapi3.Schema) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: desc, Schema: s.NewRef()}}}
}

// encodeRoutes renders the route table.
func encodeRoutes(routes []route) ([]byte, error) {
	b, err := json.MarshalIndent(struct {
		Routes []route `json:"routes"`
	}{routes}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the routes: %w", err)
	}
	return append(b, '\n'), nil
}

// errorRef refers to the shared error schema.
func errorRef(doc *openapi3.T) *openapi3.SchemaRef {
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + errorSchema, Value: doc.Components.Schemas[errorSchema].Value}
}
