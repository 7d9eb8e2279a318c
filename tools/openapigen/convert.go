package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// convert reads the Swagger 2.0 document and converts it to OpenAPI 3.0.
func convert(path string) (*openapi3.T, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the Swagger document: %w", err)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert %s to OpenAPI 3: %w", path, err)
	}
	return doc, nil
}

// encode renders doc as indented JSON and as block-style YAML with the same key order.
func encode(doc *openapi3.T) (js, ys []byte, err error) {
	compact, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the document: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, compact, "", "  "); err != nil {
		return nil, nil, fmt.Errorf("indent the document: %w", err)
	}
	buf.WriteByte('\n')
	// JSON is YAML: parse it as a node tree (which keeps the order) and print it in block style.
	var node yaml.Node
	if err := yaml.Unmarshal(compact, &node); err != nil {
		return nil, nil, fmt.Errorf("read the document as YAML: %w", err)
	}
	blockStyle(&node)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, nil, fmt.Errorf("encode the document as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, nil, fmt.Errorf("encode the document as YAML: %w", err)
	}
	return buf.Bytes(), out.Bytes(), nil
}

// blockStyle drops the flow style JSON gave every mapping and sequence, and the double quotes of
// strings that need none.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle && n.Tag == "!!str" {
		n.Style = 0 // the encoder quotes again whatever would not read back as the same string
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
