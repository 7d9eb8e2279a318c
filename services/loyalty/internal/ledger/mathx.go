package ledger

import (
	"math"
	"math/bits"
)

// mulDiv returns floor(a × b / c) for non-negative a, b and positive c, computed in 128 bits so
// the product cannot overflow; a result beyond int64 saturates at math.MaxInt64.
func mulDiv(a, b, c int64) int64 {
	if a <= 0 || b <= 0 || c <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64 // quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
