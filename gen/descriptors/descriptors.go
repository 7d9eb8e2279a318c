// Package descriptors embeds the descriptor set of every Huiyuan proto file and its imports,
// built by `buf build` with source info, so that gRPC reflection can serve the proto comments
// (the descriptors compiled into the generated Go code carry none).
package descriptors

import _ "embed"

// Set is a serialized google.protobuf.FileDescriptorSet with source code info.
//
//go:embed huiyuan.binpb
var Set []byte
