package member_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

// FuzzNormalize checks that the phone, email and birthday normalisers never panic and that
// what they accept is a fixed point: normalising it again changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"13812345678", "+1 650 253 0000", "Ann@Example.COM", "1990-02-28", "+86 (0) 138"} {
		f.Add(s)
	}
	n, err := member.NewNormalizer("CN")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := n.Phone(s); err == nil {
			if again, err := n.Phone(p); err != nil || again != p {
				t.Fatalf("Phone(%q) = %q, but Phone(%q) = %q, %v", s, p, p, again, err)
			}
		}
		if e, err := n.Email(s); err == nil {
			if again, err := n.Email(e); err != nil || again != e {
				t.Fatalf("Email(%q) = %q, but Email(%q) = %q, %v", s, e, e, again, err)
			}
		}
		if b, err := n.Birthday(s, now); err == nil && b != s {
			t.Fatalf("Birthday(%q) = %q", s, b)
		}
		if tok, err := member.Token(s); err == nil {
			if again, err := member.Token(tok); err != nil || again != tok {
				t.Fatalf("Token(%q) = %q, then %q, %v", s, tok, again, err)
			}
		}
	})
}
