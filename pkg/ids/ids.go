// Package ids makes time-ordered identifiers (UUIDv7), so bbolt keys sort by creation.
package ids

import (
	"strings"

	"github.com/google/uuid"
)

// New returns a new UUIDv7 in its canonical text form.
func New() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Valid reports whether s is a canonical UUID, as ids from New are.
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Canonical returns s in the one spelling the services key an id by: an id of New's form in
// lower case (as New writes it; a client may send it in upper case, as some databases print
// UUIDs), anything else as it is.
func Canonical(s string) string {
	if Valid(s) {
		return strings.ToLower(s)
	}
	return s
}
