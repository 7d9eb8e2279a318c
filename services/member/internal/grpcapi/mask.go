package grpcapi

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	memberv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/member/v1"
)

// memberDesc describes Member, whose field names update masks use.
var memberDesc = (&memberv1.Member{}).ProtoReflect().Descriptor()

// protoPaths rewrites update-mask paths given in JSON names ("displayName", as JSON clients of
// the edge write them) to proto names ("display_name"), segment by segment. A segment that names
// no field is left as it is, for the domain to reject with its field violation.
func protoPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = protoPath(memberDesc, p)
	}
	return out
}

func protoPath(md protoreflect.MessageDescriptor, path string) string {
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		if md == nil {
			break
		}
		fd := md.Fields().ByName(protoreflect.Name(seg))
		if fd == nil {
			fd = md.Fields().ByJSONName(seg)
		}
		if fd == nil {
			break
		}
		segs[i] = string(fd.Name())
		md = fd.Message()
	}
	return strings.Join(segs, ".")
}
