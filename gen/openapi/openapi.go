// Package openapi embeds the OpenAPI 3 document of the JSON edge and its route table, both
// written by tools/openapigen from protoc-gen-openapiv2's output and proto/gateway.yaml.
package openapi

import _ "embed"

// JSON is the OpenAPI 3 document for every route of the JSON edge.
//
//go:embed openapi.json
var JSON []byte

// YAML is the same document in YAML.
//
//go:embed openapi.yaml
var YAML []byte

// Routes is the route table: {"routes": [{"method", "pattern", "rpc", "body", "path",
// "params"}]}, one entry per HTTP binding, with its pattern as proto/gateway.yaml writes it, the
// gRPC method it calls, the request field that is its body ("*" for the whole request), and the
// document's path and name of each path variable.
//
//go:embed routes.json
var Routes []byte
