package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	t0         = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// sign makes a token with arbitrary claims and method, for the cases Issue never produces.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestMemberTokensRoundTrip(t *testing.T) {
	clk := clock.NewFake(t0)
	mt := auth.NewMemberTokens(testSecret, clk)
	tok, err := mt.Issue("acme", "m-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok, ".") != 2 || !auth.LooksLikeJWT(tok) {
		t.Fatalf("token %q is not a compact JWT", tok)
	}
	p, err := mt.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{Tenant: "acme", Role: iamv1.Role_MEMBER, MemberID: "m-1", TokenID: p.TokenID}
	if p != want || p.TokenID == "" {
		t.Fatalf("Verify = %+v, want %+v with a token id", p, want)
	}
	// IssueToken returns the claims Parse reads, the generation included; each token has its id.
	tok2, claims, err := mt.IssueToken("acme", "m-1", 2*time.Hour, 7)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mt.Parse(tok2)
	if err != nil || parsed != claims || claims.Generation != 7 || claims.ID == p.TokenID ||
		!claims.IssueTime.Equal(t0) || !claims.ExpireTime.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("Parse = %+v, %v; issued %+v", parsed, err, claims)
	}
	clk.Advance(time.Hour + time.Second)
	if _, err := mt.Verify(tok); apperr.ReasonOf(err) != auth.ReasonTokenExpired || apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("expired token: err = %v, want TOKEN_EXPIRED", err)
	}
}

func TestMemberTokensIssueErrors(t *testing.T) {
	mt := auth.NewMemberTokens(testSecret, clock.NewFake(t0))
	tests := []struct {
		name, tenant, member string
		ttl                  time.Duration
	}{
		{"bad tenant", "Acme", "m", time.Hour},
		{"empty member", "acme", "", time.Hour},
		{"zero ttl", "acme", "m", 0},
		{"ttl too long", "acme", "m", 31 * 24 * time.Hour},
		{"ttl a second too long", "acme", "m", auth.MaxTokenTTL + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mt.Issue(tt.tenant, tt.member, tt.ttl); apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("err = %v, want Invalid", err)
			}
		})
	}
	short := auth.NewMemberTokens([]byte("short"), clock.NewFake(t0))
	if _, err := short.Issue("acme", "m", time.Hour); err == nil {
		t.Fatal("Issue with a short secret succeeded")
	}
}

func TestMemberTokensVerifyRejects(t *testing.T) {
	now := t0
	valid := jwt.MapClaims{"iss": "huiyuan", "sub": "m-1", "tnt": "acme", "jti": "t-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := sign(t, jwt.SigningMethodHS256, testSecret, valid)
	parts := strings.Split(good, ".")
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"valid", good, ""},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32"), valid), auth.ReasonInvalidToken},
		{"HS384", sign(t, jwt.SigningMethodHS384, testSecret, valid), auth.ReasonInvalidToken},
		{"HS512", sign(t, jwt.SigningMethodHS512, testSecret, valid), auth.ReasonInvalidToken},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), auth.ReasonInvalidToken},
		{"no exp", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", nil)), auth.ReasonInvalidToken},
		{"expired", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(-time.Second).Unix())), auth.ReasonTokenExpired},
		{"issued in future", sign(t, jwt.SigningMethodHS256, testSecret, with("iat", now.Add(time.Hour).Unix())), auth.ReasonInvalidToken},
		{"issued within the clock skew", sign(t, jwt.SigningMethodHS256, testSecret, with("iat", now.Add(auth.TokenClockSkew).Unix())), ""},
		{"no issue time", sign(t, jwt.SigningMethodHS256, testSecret, with("iat", nil)), auth.ReasonInvalidToken},
		{"no id", sign(t, jwt.SigningMethodHS256, testSecret, with("jti", nil)), auth.ReasonInvalidToken},
		{"ten years", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.AddDate(10, 0, 0).Unix())), auth.ReasonInvalidToken},
		{"30 days exactly", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(auth.MaxTokenTTL).Unix())), ""},
		{"30 days and a second", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Add(auth.MaxTokenTTL+time.Second).Unix())), auth.ReasonInvalidToken},
		{"long ago, long lived", sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"iss": "huiyuan", "sub": "m-1", "tnt": "acme",
			"jti": "t-1", "iat": now.AddDate(-1, 0, 0).Unix(), "exp": now.Add(time.Hour).Unix()}), auth.ReasonInvalidToken},
		{"expiry before issue", sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"iss": "huiyuan", "sub": "m-1", "tnt": "acme",
			"jti": "t-1", "iat": now.Add(2 * time.Hour).Unix(), "exp": now.Add(time.Hour).Unix()}), auth.ReasonInvalidToken},
		{"not before, later", sign(t, jwt.SigningMethodHS256, testSecret, with("nbf", now.Add(time.Minute).Unix())), auth.ReasonInvalidToken},
		{"expires now", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", now.Unix())), auth.ReasonTokenExpired},
		{"exp a string", sign(t, jwt.SigningMethodHS256, testSecret, with("exp", "tomorrow")), auth.ReasonInvalidToken},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, testSecret, with("iss", "evil")), auth.ReasonInvalidToken},
		{"no issuer", sign(t, jwt.SigningMethodHS256, testSecret, with("iss", nil)), auth.ReasonInvalidToken},
		{"bad tenant", sign(t, jwt.SigningMethodHS256, testSecret, with("tnt", "ACME")), auth.ReasonInvalidToken},
		{"no tenant", sign(t, jwt.SigningMethodHS256, testSecret, with("tnt", nil)), auth.ReasonInvalidToken},
		{"no subject", sign(t, jwt.SigningMethodHS256, testSecret, with("sub", nil)), auth.ReasonInvalidToken},
		{"tampered payload", parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2], auth.ReasonInvalidToken},
		{"garbage", "a.b.c", auth.ReasonInvalidToken},
		{"empty", "", auth.ReasonInvalidToken},
	}
	mt := auth.NewMemberTokens(testSecret, clock.NewFake(now))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mt.Verify(tt.token)
			if got := apperr.ReasonOf(err); got != tt.reason {
				t.Fatalf("reason = %q, want %q (err %v)", got, tt.reason, err)
			}
			if err != nil && apperr.CodeOf(err) != apperr.Unauthenticated {
				t.Fatalf("code = %q, want unauthenticated", apperr.CodeOf(err))
			}
			if err == nil && (p.MemberID != "m-1" || p.Tenant != "acme" || p.Role != iamv1.Role_MEMBER) {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
	// A short secret never verifies, even a token signed with that same short secret.
	short := auth.NewMemberTokens([]byte("k"), clock.NewFake(now))
	if _, err := short.Verify(sign(t, jwt.SigningMethodHS256, []byte("k"), valid)); err == nil {
		t.Fatal("short secret verified a token")
	}
}

func FuzzVerify(f *testing.F) {
	mt := auth.NewMemberTokens(testSecret, clock.NewFake(t0))
	tok, err := mt.Issue("acme", "m-1", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJtIn0.")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := mt.Verify(s)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Unauthenticated {
				t.Fatalf("Verify(%q): code %q, want unauthenticated", s, apperr.CodeOf(err))
			}
			return
		}
		if p.Role != iamv1.Role_MEMBER || !auth.ValidTenant(p.Tenant) || p.MemberID == "" || p.TokenID == "" {
			t.Fatalf("Verify(%q) accepted %+v", s, p)
		}
	})
}
