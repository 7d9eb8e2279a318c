package grpcapi

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// maskFields returns the policy fields mask names (proto or JSON names, top-level only), or, for
// an empty mask, the fields req sets. Errors: Invalid on "update_mask" for a name that is not
// a policy field.
func maskFields(req *loyaltyv1.LoyaltyPolicy, mask *fieldmaskpb.FieldMask) ([]protoreflect.FieldDescriptor, error) {
	fields := req.ProtoReflect().Descriptor().Fields()
	var out []protoreflect.FieldDescriptor
	if len(mask.GetPaths()) == 0 {
		req.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			out = append(out, fd)
			return true
		})
		return out, nil
	}
	var v apperr.Violations
	for _, p := range mask.GetPaths() {
		fd := fields.ByName(protoreflect.Name(p))
		if fd == nil {
			fd = fields.ByJSONName(p)
		}
		if fd == nil {
			v.Add("update_mask", "unknown policy field %q", p)
			continue
		}
		out = append(out, fd)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// applyMask returns a copy of cur with fields taken from req; a field req leaves unset becomes
// its zero value.
func applyMask(cur, req *loyaltyv1.LoyaltyPolicy, fields []protoreflect.FieldDescriptor) *loyaltyv1.LoyaltyPolicy {
	out := proto.CloneOf(cur)
	src := proto.CloneOf(req).ProtoReflect()
	dst := out.ProtoReflect()
	for _, fd := range fields {
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out
}
