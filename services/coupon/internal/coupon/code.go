package coupon

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

// Codes are 15 random symbols and a check symbol from a 31-symbol alphabet without look-alikes
// (no 0/O, 1/I/L), written in four groups of four: 7KQ4-MZ2X-9HPA-RT3C. 15 symbols carry
// 15·log2(31) ≈ 74 bits from crypto/rand. The alphabet has a prime size, so the check symbol of a
// weighted sum mod 31 (weights 1..16, all distinct and non-zero mod 31) catches every single
// substitution (w·Δ ≠ 0 mod 31) and every swap of two adjacent symbols ((w_i − w_{i+1})·Δ = −Δ ≠ 0).
const (
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	codeRandom   = 15
	codeLen      = codeRandom + 1
	codeGroup    = 4
	alphabetSize = len(codeAlphabet) // 31, prime
)

// Shared codes: 4 to 32 letters and digits.
const (
	MinSharedCode = 4
	MaxSharedCode = 32
	maxCodeInput  = 64
)

// symbolValue returns b's value in the alphabet, or -1.
func symbolValue(b byte) int { return strings.IndexByte(codeAlphabet, b) }

// checkSymbol returns the symbol that makes Σ w_i·v_i ≡ 0 (mod 31) over the code with weights
// 1..len+1, the check symbol's weight being len+1.
func checkSymbol(body []byte) byte {
	sum := 0
	for i, b := range body {
		sum += (i + 1) * symbolValue(b)
	}
	w := len(body) + 1
	// Find c with sum + w·c ≡ 0; w is invertible mod 31 since 0 < w < 31.
	for c := 0; c < alphabetSize; c++ {
		if (sum+w*c)%alphabetSize == 0 {
			return codeAlphabet[c]
		}
	}
	panic("unreachable: 31 is prime")
}

// NewCode returns a fresh code, normalised (no dashes), from crypto/rand.
func NewCode() (string, error) { return newCode(rand.Reader) }

func newCode(r io.Reader) (string, error) {
	out := make([]byte, 0, codeLen)
	var buf [32]byte
	for len(out) < codeRandom {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("coupon code: read random: %w", err)
		}
		for _, b := range buf {
			// Rejection sampling keeps every symbol equally likely: 248 = 8·31.
			if b < 248 && len(out) < codeRandom {
				out = append(out, codeAlphabet[b%byte(alphabetSize)])
			}
		}
	}
	return string(append(out, checkSymbol(out))), nil
}

// FormatCode writes a normalised code for people: generated codes in groups of four, shared
// codes as they are.
func FormatCode(code string) string {
	if !looksGenerated(code) {
		return code
	}
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		if i > 0 && i%codeGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}

// NormalizeCode reads a code as people type it: case does not matter, dashes and spaces are
// ignored. A code of the generated shape whose check symbol does not match is refused as a
// typo. Errors: Invalid on field (reason INVALID_ARGUMENT, or COUPON_CODE_INVALID for a typo).
func NormalizeCode(field, in string) (string, error) {
	if in == "" {
		return "", apperr.InvalidField(field, "is required")
	}
	if len(in) > maxCodeInput {
		return "", apperr.InvalidField(field, "is not a coupon code")
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
		default:
			return "", apperr.InvalidField(field, "is not a coupon code: letters, digits and dashes only")
		}
		b.WriteByte(c)
	}
	code := b.String()
	if len(code) < MinSharedCode || len(code) > MaxSharedCode {
		return "", apperr.InvalidField(field, "is not a coupon code")
	}
	if looksGenerated(code) && !ValidCheck(code) {
		return "", &apperr.Error{Code: apperr.Invalid, Reason: ReasonCodeInvalid,
			Message:    "the code's check character does not match: a character is mistyped or two are swapped",
			Violations: []apperr.FieldViolation{{Field: field, Description: "check character does not match (a typo?)"}}}
	}
	return code, nil
}

// looksGenerated reports whether code has the shape of a generated code: 16 alphabet symbols.
func looksGenerated(code string) bool {
	if len(code) != codeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		if symbolValue(code[i]) < 0 {
			return false
		}
	}
	return true
}

// ValidCheck reports whether a code of the generated shape carries its check symbol.
func ValidCheck(code string) bool {
	if !looksGenerated(code) {
		return false
	}
	sum := 0
	for i := 0; i < len(code); i++ {
		sum += (i + 1) * symbolValue(code[i])
	}
	return sum%alphabetSize == 0
}

// sharedCodeSpelling checks a shared code chosen by an operator: normalised, 4 to 32 letters and
// digits, and not of the generated shape (so it can never equal a coupon's code).
func sharedCodeSpelling(field, in string) (string, error) {
	code, err := NormalizeCode(field, in)
	if err != nil {
		return "", err
	}
	if looksGenerated(code) {
		return "", apperr.InvalidField(field, "must not look like a generated coupon code (16 symbols with a check symbol)")
	}
	return code, nil
}

// newSharedCode returns a generated shared code: 10 random symbols (about 50 bits), which is
// never of the generated coupon shape.
func newSharedCode() (string, error) {
	c, err := NewCode()
	if err != nil {
		return "", err
	}
	return c[:10], nil
}
