package boltx_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
)

func TestPageToken(t *testing.T) {
	keys := [][]byte{boltx.Key("acme", "m1"), {0}, {0xff, 0xfe, 0xfd}, bytes.Repeat([]byte("k"), 300)}
	for _, k := range keys {
		tok := boltx.EncodePageToken(k)
		got, err := boltx.DecodePageToken(tok)
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("round trip %x: got %x, %v", k, got, err)
		}
		if got, err := boltx.DecodePageToken(tok + "=="); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("padded %q: got %x, %v", tok, got, err)
		}
	}
	if tok := boltx.EncodePageToken(nil); tok != "" {
		t.Fatalf("EncodePageToken(nil) = %q", tok)
	}
	if k, err := boltx.DecodePageToken(""); k != nil || err != nil {
		t.Fatalf(`DecodePageToken("") = %x, %v`, k, err)
	}
}

func TestDecodePageToken_Invalid(t *testing.T) {
	for _, tok := range []string{"!!", "a", "abc$", "a b", "=", "YWJj+/"} {
		_, err := boltx.DecodePageToken(tok)
		if apperr.CodeOf(err) != apperr.Invalid || apperr.ReasonOf(err) != boltx.ReasonInvalidPageToken {
			t.Errorf("DecodePageToken(%q) = %v, want Invalid INVALID_PAGE_TOKEN", tok, err)
			continue
		}
		var e *apperr.Error
		if !errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != "page_token" {
			t.Errorf("DecodePageToken(%q): violations %+v, want one on page_token", tok, e)
		}
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add("")
	f.Add(boltx.EncodePageToken(boltx.Key("acme", "members", "0190")))
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, tok string) {
		k, err := boltx.DecodePageToken(tok)
		if err != nil {
			if apperr.ReasonOf(err) != boltx.ReasonInvalidPageToken {
				t.Fatalf("error without reason: %v", err)
			}
			return
		}
		// Whatever decodes must re-encode to a token that decodes to the same key.
		again, err := boltx.DecodePageToken(boltx.EncodePageToken(k))
		if err != nil || !bytes.Equal(again, k) {
			t.Fatalf("re-encode of %x: %x, %v", k, again, err)
		}
	})
}
