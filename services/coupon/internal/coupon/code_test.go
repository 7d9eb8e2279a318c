package coupon

import (
	"bytes"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

func TestNewCodeShape(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != codeLen || !looksGenerated(c) || !ValidCheck(c) {
			t.Fatalf("code %q: shape or check wrong", c)
		}
		if strings.ContainsAny(c, "01OIL") {
			t.Fatalf("code %q holds a look-alike", c)
		}
		if seen[c] {
			t.Fatalf("code %q twice", c)
		}
		seen[c] = true
	}
	if got := FormatCode("7KQ4MZ2X9HPART3C"); got != "7KQ4-MZ2X-9HPA-RT3C" {
		t.Fatalf("FormatCode = %q", got)
	}
}

// TestCheckCatchesTypos shows that every single-symbol substitution and every swap of two
// adjacent different symbols of a code breaks its check, over many codes.
func TestCheckCatchesTypos(t *testing.T) {
	for range 200 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(c)
		for i := range b {
			orig := b[i]
			for k := 0; k < alphabetSize; k++ {
				if codeAlphabet[k] == orig {
					continue
				}
				b[i] = codeAlphabet[k]
				if ValidCheck(string(b)) {
					t.Fatalf("substitution at %d of %s -> %s passes the check", i, c, b)
				}
			}
			b[i] = orig
		}
		for i := 0; i+1 < len(b); i++ {
			if b[i] == b[i+1] {
				continue
			}
			b[i], b[i+1] = b[i+1], b[i]
			if ValidCheck(string(b)) {
				t.Fatalf("swap at %d of %s passes the check", i, c)
			}
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
}

func TestNewCodeFailsOnShortRandom(t *testing.T) {
	if _, err := newCode(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("no error from an exhausted random source")
	}
	// Bytes at or above 248 are rejected, not folded: a source of 0xff only never yields a symbol.
	if _, err := newCode(bytes.NewReader(bytes.Repeat([]byte{0xff}, 64))); err == nil {
		t.Fatal("rejection sampling did not reject")
	}
}

func TestNormalizeCode(t *testing.T) {
	good, _ := NewCode()
	typo := []byte(good)
	typo[3] = codeAlphabet[(strings.IndexByte(codeAlphabet, typo[3])+1)%alphabetSize]
	tests := []struct {
		in, want string
		reason   string
	}{
		{in: good, want: good},
		{in: strings.ToLower(FormatCode(good)), want: good},
		{in: " " + FormatCode(good) + " ", want: good},
		{in: "summer24", want: "SUMMER24"},
		{in: "SUM-MER 24", want: "SUMMER24"},
		{in: string(typo), reason: ReasonCodeInvalid},
		{in: "", reason: "INVALID_ARGUMENT"},
		{in: "abc", reason: "INVALID_ARGUMENT"},
		{in: "ab_cd", reason: "INVALID_ARGUMENT"},
		{in: "码码码码", reason: "INVALID_ARGUMENT"},
		{in: strings.Repeat("A", 33), reason: "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		got, err := NormalizeCode("code", tt.in)
		if tt.reason != "" {
			if apperr.CodeOf(err) != apperr.Invalid || apperr.ReasonOf(err) != tt.reason {
				t.Errorf("NormalizeCode(%q) = %q, %v; want %s", tt.in, got, err, tt.reason)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSharedCodeSpelling(t *testing.T) {
	generated, _ := NewCode()
	if _, err := sharedCodeSpelling("shared_code.code", generated); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("a generated-looking shared code was accepted: %v", err)
	}
	if got, err := sharedCodeSpelling("shared_code.code", "spring-2026"); err != nil || got != "SPRING2026" {
		t.Fatalf("got %q, %v", got, err)
	}
	c, err := newSharedCode()
	if err != nil || looksGenerated(c) || len(c) != 10 {
		t.Fatalf("newSharedCode = %q, %v", c, err)
	}
}

// FuzzNormalizeCode: any input either fails with Invalid or gives a code that normalises to
// itself and that, when it has the generated shape, carries a valid check symbol.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"7KQ4-MZ2X-9HPA-RT3C", "summer24", "", "----", "ÄÖÜ", "aaaa-bbbb-cccc-dddd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeCode("code", in)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("NormalizeCode(%q): %v is not Invalid", in, err)
			}
			return
		}
		again, err := NormalizeCode("code", FormatCode(got))
		if err != nil || again != got {
			t.Fatalf("NormalizeCode(FormatCode(%q)) = %q, %v", got, again, err)
		}
		if looksGenerated(got) && !ValidCheck(got) {
			t.Fatalf("%q accepted with a bad check symbol", got)
		}
	})
}
