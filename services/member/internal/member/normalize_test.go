package member_test

import (
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

func TestNewNormalizerRegion(t *testing.T) {
	for _, tc := range []struct {
		region string
		ok     bool
	}{{"", true}, {"CN", true}, {"us", true}, {"ZZZ", false}, {"XX", false}} {
		_, err := member.NewNormalizer(tc.region)
		if (err == nil) != tc.ok {
			t.Errorf("NewNormalizer(%q) error = %v, want ok=%v", tc.region, err, tc.ok)
		}
	}
}

func TestPhone(t *testing.T) {
	cn, _ := member.NewNormalizer("")
	us, _ := member.NewNormalizer("US")
	for _, tc := range []struct {
		name string
		n    *member.Normalizer
		in   string
		want string // "" means invalid
	}{
		{"cn mobile local", cn, "13812345678", "+8613812345678"},
		{"cn mobile spaced", cn, " 138 1234 5678 ", "+8613812345678"},
		{"cn mobile with code", cn, "+86 138-1234-5678", "+8613812345678"},
		{"cn mobile 0086", cn, "008613812345678", "+8613812345678"},
		{"us number from cn", cn, "+1 (650) 253-0000", "+16502530000"},
		{"us local in us region", us, "(650) 253-0000", "+16502530000"},
		{"us local in cn region is not cn", cn, "6502530000", ""},
		{"too short", cn, "12345", ""},
		{"letters", cn, "not a phone", ""},
		{"empty", cn, "", ""},
		{"too long", cn, strings.Repeat("1", 70), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.n.Phone(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Phone(%q) = %q, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Phone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	n, _ := member.NewNormalizer("")
	for _, tc := range []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{" Ann.Lee@Example.COM ", "ann.lee@example.com"},
		{"a+tag@sub.example.cn", "a+tag@sub.example.cn"},
		{"Ann <ann@example.com>", ""},
		{"ann@", ""},
		{"@example.com", ""},
		{"ann@localhost", ""},
		{"ann example.com", ""},
		{"", ""},
		{strings.Repeat("a", 250) + "@x.com", ""},
	} {
		got, err := n.Email(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Email(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Email(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestBirthday(t *testing.T) {
	n, _ := member.NewNormalizer("")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1990-05-17", true},
		{"2024-02-29", true},
		{"2023-02-29", false}, // not a real date
		{"1990-13-01", false},
		{"1990-5-17", false},
		{"1990-05-17T00:00:00Z", false},
		{"1899-12-31", false},
		{"1900-01-01", true},
		{"2026-03-10", true},
		{"2026-03-11", true}, // already the 11th in UTC+14
		{"2026-03-12", false},
		{"", false},
		{"yesterday", false},
	} {
		_, err := n.Birthday(tc.in, now)
		if (err == nil) != tc.ok {
			t.Errorf("Birthday(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestTokenAndText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"VIP", "vip", true},
		{"wechat_openid", "wechat_openid", true},
		{"region:north-1", "region:north-1", true},
		{"has space", "", false},
		{"", "", false},
		{"标签", "", false},
		{strings.Repeat("a", 65), "", false},
	} {
		got, err := member.Token(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Token(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in                  string
		max                 int
		required, multiline bool
		ok                  bool
	}{
		{"  李雷 ", 100, true, false, true},
		{"", 100, true, false, false},
		{"", 100, false, false, true},
		{strings.Repeat("名", 100), 100, true, false, true},
		{strings.Repeat("名", 101), 100, true, false, false},
		{"a\nb", 100, true, false, false},
		{"a\nb", 100, true, true, true},
		{"a\x00b", 100, true, true, false},
		{"\xff", 100, true, false, false},
	} {
		_, err := member.Text(tc.in, tc.max, tc.required, tc.multiline)
		if (err == nil) != tc.ok {
			t.Errorf("Text(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestCanTransition(t *testing.T) {
	all := []member.Status{member.StatusActive, member.StatusFrozen, member.StatusClosed, member.StatusErased}
	allowed := map[[2]member.Status]bool{
		{member.StatusActive, member.StatusFrozen}: true,
		{member.StatusFrozen, member.StatusActive}: true,
		{member.StatusActive, member.StatusClosed}: true,
		{member.StatusFrozen, member.StatusClosed}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := member.CanTransition(from, to); got != allowed[[2]member.Status{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
	}
}
