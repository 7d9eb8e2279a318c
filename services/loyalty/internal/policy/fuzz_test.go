package policy_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/policy"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// FuzzUpdate decodes a policy and a comma-separated mask, as an update request carries them:
// Fields either rejects the mask as Invalid or the result validates or fails as Invalid,
// never panicking, and Apply never changes the current policy.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte{0x08, 0xc8, 0x01}, "")
	f.Add([]byte{}, "time_zone,pendingDays")
	f.Fuzz(func(t *testing.T, raw []byte, paths string) {
		req := &loyaltyv1.LoyaltyPolicy{}
		if proto.Unmarshal(raw, req) != nil {
			return
		}
		var mask *fieldmaskpb.FieldMask
		if paths != "" {
			mask = &fieldmaskpb.FieldMask{Paths: strings.Split(paths, ",")}
		}
		fields, err := policy.Fields(req, mask)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("Fields: %v", err)
			}
			return
		}
		cur := valid()
		next := policy.Apply(cur, req, fields)
		if !proto.Equal(cur, valid()) {
			t.Fatal("Apply changed cur")
		}
		if _, err := policy.Settings(next, policy.Holds{}); err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("Settings: %v", err)
		}
	})
}
