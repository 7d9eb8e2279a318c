// Package openapi embeds the OpenAPI document of the JSON edge, generated from proto/gateway.yaml.
package openapi

import _ "embed"

// JSON is the merged OpenAPI v2 document for every service on the JSON edge.
//
//go:embed huiyuan.swagger.json
var JSON []byte
