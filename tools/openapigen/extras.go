package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// addEdgePaths documents the edge's own endpoints: health and readiness, the document itself
// (none needs a key) and the metrics (the metrics key, when one is configured).
func addEdgePaths(doc *openapi3.T) {
	open := &openapi3.SecurityRequirements{}
	status := openapi3.NewObjectSchema().WithProperty("status", openapi3.NewStringSchema().WithEnum("SERVING", "NOT_SERVING"))
	for _, p := range []struct{ path, id, summary string }{
		{"/healthz", "Edge_Health", "Health: 200 once every service behind the edge is ready, 503 before."},
		{"/readyz", "Edge_Ready", "Readiness: the same check as /healthz."},
	} {
		op := &openapi3.Operation{OperationID: p.id, Summary: p.summary, Tags: []string{"Edge"}, Security: open,
			Responses: openapi3.NewResponses(
				openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Serving.").WithJSONSchema(status)}),
				openapi3.WithStatus(503, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Not ready yet.").WithJSONSchema(status)}),
			)}
		doc.Paths.Set(p.path, &openapi3.PathItem{Get: op})
	}
	for _, p := range []struct{ path, id, mime string }{
		{"/openapi.json", "Edge_OpenAPIJSON", "application/json"},
		{"/openapi.yaml", "Edge_OpenAPIYAML", "application/yaml"},
	} {
		resp := openapi3.NewResponse().WithDescription("This document.")
		resp.Content = openapi3.Content{p.mime: openapi3.NewMediaType().WithSchema(openapi3.NewObjectSchema())}
		doc.Paths.Set(p.path, &openapi3.PathItem{Get: &openapi3.Operation{OperationID: p.id, Tags: []string{"Edge"},
			Summary: "The OpenAPI 3 document of the JSON edge.", Security: open,
			Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: resp}))}})
	}
	metrics := openapi3.NewResponse().WithDescription("Prometheus text exposition.")
	metrics.Content = openapi3.Content{"text/plain": openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema())}
	unauth := openapi3.NewResponse().WithDescription("A metrics key is configured and the request does not carry it (reason `UNAUTHENTICATED`).").
		WithContent(openapi3.NewContentWithJSONSchemaRef(errorRef(doc)))
	doc.Paths.Set("/metrics", &openapi3.PathItem{Get: &openapi3.Operation{OperationID: "Edge_Metrics", Tags: []string{"Edge"},
		Summary:  "The process's Prometheus metrics. With HUIYUAN_METRICS_KEY set, send it as `Authorization: Bearer <key>`.",
		Security: &openapi3.SecurityRequirements{{metricsScheme: []string{}}},
		Responses: openapi3.NewResponses(
			openapi3.WithStatus(200, &openapi3.ResponseRef{Value: metrics}),
			openapi3.WithStatus(401, &openapi3.ResponseRef{Value: unauth}),
		)}})
	doc.Tags = append(doc.Tags, &openapi3.Tag{Name: "Edge", Description: "The edge's own endpoints."})
}

// dropUnusedTags removes the tags of services without JSON routes (KeyAuthService).
func dropUnusedTags(doc *openapi3.T) {
	used := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, t := range op.Tags {
				used[t] = true
			}
		}
	}
	var keep openapi3.Tags
	for _, t := range doc.Tags {
		if used[t.Name] {
			keep = append(keep, t)
		}
	}
	doc.Tags = keep
}

// lintDirective matches a line that speaks to a linter, not to a reader.
var lintDirective = regexp.MustCompile(`(?m)^.*(buf:lint:|\(--\s*api-linter:).*$\n?`)

func clean(s string) string {
	return strings.TrimSpace(lintDirective.ReplaceAllString(s, ""))
}

// stripLintDirectives removes lint directives from every description and summary: proto
// comments carry them, readers of the document have no use for them.
func stripLintDirectives(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var schema func(s *openapi3.SchemaRef)
	schema = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		s.Value.Title = clean(s.Value.Title)
		s.Value.Description = clean(s.Value.Description)
		for _, p := range s.Value.Properties {
			schema(p)
		}
		schema(s.Value.Items)
		if s.Value.AdditionalProperties.Schema != nil {
			schema(s.Value.AdditionalProperties.Schema)
		}
		for _, list := range []openapi3.SchemaRefs{s.Value.AllOf, s.Value.AnyOf, s.Value.OneOf} {
			for _, x := range list {
				schema(x)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		schema(s)
	}
	for _, t := range doc.Tags {
		t.Description = clean(t.Description)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Summary, op.Description = clean(op.Summary), clean(op.Description)
			for _, p := range op.Parameters {
				if p.Value != nil {
					p.Value.Description = clean(p.Value.Description)
					schema(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				op.RequestBody.Value.Description = clean(op.RequestBody.Value.Description)
				for _, mt := range op.RequestBody.Value.Content {
					schema(mt.Schema)
				}
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil && r.Value.Description != nil {
					d := clean(*r.Value.Description)
					r.Value.Description = &d
				}
			}
		}
	}
}

// checkClean fails when a lint directive survived anywhere in the encoded document.
func checkClean(encoded []byte) error {
	if loc := lintDirective.FindIndex(encoded); loc != nil {
		return fmt.Errorf("a lint directive is left in the document: %q", encoded[loc[0]:loc[1]])
	}
	return nil
}

// dropUnusedSchemas removes the schemas no operation reaches (the wrapped responses that
// response_body unwraps), so the document holds what a client meets.
func dropUnusedSchemas(doc *openapi3.T) error {
	refs := func(v any) ([]string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("find schema references: %w", err)
		}
		var out []string
		for _, m := range schemaRef.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
		return out, nil
	}
	queue, err := refs(doc.Paths)
	if err != nil {
		return err
	}
	reached := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if reached[name] {
			continue
		}
		reached[name] = true
		s := doc.Components.Schemas[name]
		if s == nil {
			return fmt.Errorf("reference to a missing schema %s", name)
		}
		more, err := refs(s)
		if err != nil {
			return err
		}
		queue = append(queue, more...)
	}
	for name := range doc.Components.Schemas {
		if !reached[name] {
			delete(doc.Components.Schemas, name)
		}
	}
	return nil
}

var schemaRef = regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`)
