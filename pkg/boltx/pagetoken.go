package boltx

import (
	"encoding/base64"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// ReasonInvalidPageToken is the apperr reason of a page token that does not decode.
const ReasonInvalidPageToken = "INVALID_PAGE_TOKEN"

// EncodePageToken returns an opaque, URL-safe page token (AIP-158) for the page that starts
// after lastKey. An empty lastKey gives "", the token of the first page.
func EncodePageToken(lastKey []byte) string {
	return base64.RawURLEncoding.EncodeToString(lastKey)
}

// DecodePageToken returns the key a token was made from; "" gives nil (start at the first
// page). A token that does not decode is an apperr.Invalid error on field "page_token" with
// reason INVALID_PAGE_TOKEN. The key comes from the client: a store must check that it starts
// with the caller's TenantPrefix before seeking to it.
func DecodePageToken(tok string) ([]byte, error) {
	if tok == "" {
		return nil, nil
	}
	// Tolerate padding that a client or proxy may have added.
	k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil || len(k) == 0 {
		return nil, &apperr.Error{
			Code:       apperr.Invalid,
			Reason:     ReasonInvalidPageToken,
			Message:    "page_token is not a token this service issued",
			Violations: []apperr.FieldViolation{{Field: "page_token", Description: "not a valid page token"}},
		}
	}
	return k, nil
}
