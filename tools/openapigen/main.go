// Command openapigen turns protoc-gen-openapiv2's Swagger 2.0 output into the JSON edge's
// OpenAPI 3 document: kin-openapi converts it, then the document gets what Swagger cannot know
// from the protos: the title and version, the bearer scheme, the edge's own paths (health,
// readiness, metrics, the document itself), the error responses with the reasons each
// operation can return, and API.md's path parameter names. It also writes the route table the
// edge uses to name fields as the client sent them. `make generate` runs it; its output in
// gen/openapi is committed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.swagger, "swagger", "", "protoc-gen-openapiv2's merged Swagger 2.0 document")
	flag.StringVar(&o.gateway, "gateway", "proto/gateway.yaml", "the HTTP rules (grpc-gateway external configuration)")
	flag.StringVar(&o.reasons, "reasons", "services/gateway/reasons.yaml", "the catalogue of error reasons")
	flag.StringVar(&o.versionFile, "version-file", "VERSION", "file holding the version of the build")
	flag.StringVar(&o.out, "out", "gen/openapi", "directory for openapi.json, openapi.yaml and routes.json")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

type options struct {
	swagger, gateway, reasons, versionFile, out string
}

func run(ctx context.Context, o options) error {
	version, err := os.ReadFile(o.versionFile)
	if err != nil {
		return fmt.Errorf("read the version: %w", err)
	}
	rules, err := loadRules(o.gateway)
	if err != nil {
		return err
	}
	cat, err := loadReasons(o.reasons)
	if err != nil {
		return err
	}
	doc, err := convert(o.swagger)
	if err != nil {
		return err
	}
	routes, err := build(doc, rules, cat, strings.TrimSpace(string(version)))
	if err != nil {
		return err
	}
	if err := doc.Validate(ctx); err != nil {
		return fmt.Errorf("the converted document is not valid OpenAPI 3: %w", err)
	}
	js, ys, err := encode(doc)
	if err != nil {
		return err
	}
	if err := checkClean(js); err != nil {
		return err
	}
	rs, err := encodeRoutes(routes)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"openapi.json": js, "openapi.yaml": ys, "routes.json": rs} {
		if err := os.WriteFile(filepath.Join(o.out, name), b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
