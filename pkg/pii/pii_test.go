package pii_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/pii"
)

// testKEK is a fixed KEK so that fuzz seeds made with it stay valid.
var testKEK = bytes.Repeat([]byte{0x42}, 32)

func keyring(t testing.TB, kek []byte) *pii.Keyring {
	t.Helper()
	k, err := pii.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKEK(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(250 + i) // bytes that make '+' '/' or '-' '_' appear
	}
	ok := []string{
		base64.StdEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		"  " + base64.StdEncoding.EncodeToString(raw) + "\n",
	}
	for _, s := range ok {
		k, err := pii.ParseKEK(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKEK(%q) = %x, %v", s, k, err)
		}
	}
	secretish := base64.StdEncoding.EncodeToString(raw[:31])
	bad := []string{"", "not base64!", secretish, base64.StdEncoding.EncodeToString(append(raw, 1))}
	for _, s := range bad {
		_, err := pii.ParseKEK(s)
		if !errors.Is(err, pii.ErrInvalidKEK) {
			t.Errorf("ParseKEK(%q) = %v, want ErrInvalidKEK", s, err)
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error echoes the input: %v", err)
		}
	}
}

func TestNewKeyring_BadKEK(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := pii.NewKeyring(make([]byte, n)); !errors.Is(err, pii.ErrInvalidKEK) {
			t.Errorf("NewKeyring(%d bytes) = %v, want ErrInvalidKEK", n, err)
		}
	}
}

func TestDataKey_RoundTrip(t *testing.T) {
	k := keyring(t, testKEK)
	wrapped, dk, err := k.NewDataKey("acme/members/m1")
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := k.OpenDataKey("acme/members/m1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, {}, []byte("+8613800138000"), bytes.Repeat([]byte("李"), 1000)} {
		aad := []byte("acme/members/m1/phone")
		ct, err := dk.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 4 && bytes.Contains(ct, pt) {
			t.Fatal("ciphertext contains the plaintext")
		}
		got, err := reopened.Open(ct, aad) // the unwrapped key opens what the new one sealed
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		again, _ := dk.Seal(pt, aad)
		if bytes.Equal(again, ct) {
			t.Fatal("two seals of one value are equal: the nonce is not random")
		}
	}
}

func TestOpenDataKey_Refuses(t *testing.T) {
	k := keyring(t, testKEK)
	const scope = "acme/members/m1"
	wrapped, _, err := k.NewDataKey(scope)
	if err != nil {
		t.Fatal(err)
	}
	otherKEK := bytes.Repeat([]byte{0x43}, 32)
	tests := []struct {
		name    string
		keyring *pii.Keyring
		scope   string
		wrapped []byte
	}{
		{"other scope", k, "acme/members/m2", wrapped},
		{"other tenant", k, "evil/members/m1", wrapped},
		{"other KEK", keyring(t, otherKEK), scope, wrapped},
		{"truncated", k, scope, wrapped[:len(wrapped)-1]},
		{"extended", k, scope, append(bytes.Clone(wrapped), 0)},
		{"empty", k, scope, nil},
		{"version", k, scope, flip(wrapped, 0)},
		{"nonce", k, scope, flip(wrapped, 5)},
		{"body", k, scope, flip(wrapped, 20)},
		{"tag", k, scope, flip(wrapped, len(wrapped)-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dk, err := tt.keyring.OpenDataKey(tt.scope, tt.wrapped)
			if !errors.Is(err, pii.ErrDecrypt) || dk != nil {
				t.Fatalf("OpenDataKey = %v, %v; want ErrDecrypt", dk, err)
			}
		})
	}
}

func TestDataKey_OpenRefuses(t *testing.T) {
	k := keyring(t, testKEK)
	_, dk, err := k.NewDataKey("acme/members/m1")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := k.NewDataKey("acme/members/m2")
	if err != nil {
		t.Fatal(err)
	}
	pt, aad := []byte("alice@example.com"), []byte("email")
	ct, err := dk.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dk   *pii.DataKey
		ct   []byte
		aad  []byte
	}{
		{"other key", other, ct, aad},
		{"other aad", dk, ct, []byte("phone")},
		{"no aad", dk, ct, nil},
		{"nonce flipped", dk, flip(ct, 0), aad},
		{"body flipped", dk, flip(ct, 14), aad},
		{"tag flipped", dk, flip(ct, len(ct)-1), aad},
		{"truncated", dk, ct[:len(ct)-1], aad},
		{"too short", dk, ct[:10], aad},
		{"empty", dk, nil, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.dk.Open(tt.ct, tt.aad)
			if !errors.Is(err, pii.ErrDecrypt) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
			}
			if strings.Contains(err.Error(), string(pt)) {
				t.Fatal("error contains the plaintext")
			}
		})
	}
}

func TestDataKey_Nil(t *testing.T) {
	var dk *pii.DataKey
	if _, err := dk.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on nil DataKey succeeded")
	}
	if _, err := dk.Open([]byte("x"), nil); err == nil {
		t.Error("Open on nil DataKey succeeded")
	}
	if _, err := (&pii.DataKey{}).Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on zero DataKey succeeded")
	}
}

func TestBlindIndex(t *testing.T) {
	k := keyring(t, testKEK)
	base := k.BlindIndex("acme", "phone", "+8613800138000")
	if len(base) != 32 {
		t.Fatalf("len = %d, want 32", len(base))
	}
	if again := keyring(t, testKEK).BlindIndex("acme", "phone", "+8613800138000"); !bytes.Equal(base, again) {
		t.Fatal("not deterministic across keyrings of one KEK")
	}
	differ := []struct {
		name   string
		got    []byte
		versus []byte
	}{
		{"other tenant", k.BlindIndex("acme2", "phone", "+8613800138000"), base},
		{"other kind", k.BlindIndex("acme", "email", "+8613800138000"), base},
		{"other value", k.BlindIndex("acme", "phone", "+8613800138001"), base},
		{"other KEK", keyring(t, bytes.Repeat([]byte{1}, 32)).BlindIndex("acme", "phone", "+8613800138000"), base},
		{"tenant/kind boundary", k.BlindIndex("a", "bc", "x"), k.BlindIndex("ab", "c", "x")},
		{"kind/value boundary", k.BlindIndex("t", "a", "bc"), k.BlindIndex("t", "ab", "c")},
		{"empty fields", k.BlindIndex("", "", "abc"), k.BlindIndex("abc", "", "")},
	}
	for _, tt := range differ {
		if bytes.Equal(tt.got, tt.versus) {
			t.Errorf("%s: indexes collide", tt.name)
		}
	}
}

func TestBlindIndex_Concurrent(t *testing.T) {
	k := keyring(t, testKEK)
	want := k.BlindIndex("acme", "email", "a@b.c")
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				if i%2 == 0 {
					if got := k.BlindIndex("acme", "email", "a@b.c"); !bytes.Equal(got, want) {
						t.Error("concurrent BlindIndex differs")
						return
					}
				} else {
					_ = k.BlindIndex("acme", "phone", strings.Repeat("9", g+i))
				}
			}
		})
	}
	wg.Wait()
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
