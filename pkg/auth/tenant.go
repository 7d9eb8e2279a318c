package auth

// ValidTenant reports whether s is a well-formed tenant id: 1 to 63 characters of lowercase
// letters, digits and dashes, not starting with a dash (^[a-z0-9][a-z0-9-]{0,62}$). Tenant ids
// appear in NATS subjects and bbolt keys, so nothing else is allowed.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
