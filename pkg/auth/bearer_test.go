package auth_test

import (
	"context"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer hy_abc", "hy_abc", true},
		{"bearer hy_abc", "hy_abc", true},
		{"BEARER   hy_abc  ", "hy_abc", true},
		{"Bearer a.b.c", "a.b.c", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"hy_abc", "", false},
		{"Bearer a b", "", false},
		{"Bearer\thy_abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := auth.ParseAuthorization(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseAuthorization(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"a.b.c", true},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtMSJ9.sig", true},
		{"hy_abcdef", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{".b.c", false},
		{"a..c", false},
		{"a.b.", false},
		{"", false},
		{"..", false},
	}
	for _, tt := range tests {
		if got := auth.LooksLikeJWT(tt.in); got != tt.want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// stubAuth answers every credential with p, or err.
type stubAuth struct {
	p   auth.Principal
	err error
}

func (s stubAuth) Authenticate(context.Context, string) (auth.Principal, error) { return s.p, s.err }

func TestBearerDispatch(t *testing.T) {
	keys := stubAuth{p: auth.Principal{Tenant: "acme", Role: iamv1.Role_OPERATOR, KeyID: "k"}}
	tokens := stubAuth{p: auth.Principal{Tenant: "acme", Role: iamv1.Role_MEMBER, MemberID: "m"}}
	tests := []struct {
		name     string
		b        auth.Bearer
		bearer   string
		wantRole iamv1.Role
		wantErr  string
	}{
		{name: "key", b: auth.Bearer{Keys: keys, Tokens: tokens}, bearer: "hy_x", wantRole: iamv1.Role_OPERATOR},
		{name: "jwt", b: auth.Bearer{Keys: keys, Tokens: tokens}, bearer: "a.b.c", wantRole: iamv1.Role_MEMBER},
		{name: "jwt without tokens", b: auth.Bearer{Keys: keys}, bearer: "a.b.c", wantErr: auth.ReasonInvalidToken},
		{name: "key without keys", b: auth.Bearer{Tokens: tokens}, bearer: "hy_x", wantErr: auth.ReasonInvalidAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.b.Authenticate(context.Background(), tt.bearer)
			if got := apperr.ReasonOf(err); got != tt.wantErr {
				t.Fatalf("reason = %q, want %q (err %v)", got, tt.wantErr, err)
			}
			if err == nil && p.Role != tt.wantRole {
				t.Fatalf("role = %s, want %s", p.Role, tt.wantRole)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer hy_abc", "bearer a.b.c", "Basic x", "", "Bearer  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := auth.ParseAuthorization(s)
		if !ok {
			if tok != "" {
				t.Fatalf("rejected %q but returned %q", s, tok)
			}
			return
		}
		if tok == "" {
			t.Fatalf("accepted %q with an empty token", s)
		}
		for _, c := range tok {
			if c <= ' ' || c == 0x7f {
				t.Fatalf("token %q from %q contains whitespace", tok, s)
			}
		}
		_ = auth.LooksLikeJWT(tok)
	})
}
