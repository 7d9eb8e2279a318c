package loyalty

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
)

// MaxTokenLen is the longest id a caller may send (order, member, hold, store ids), in bytes.
const MaxTokenLen = ledger.MaxRefLen

// MaxFutureSkew is how far in the future an order's create_time may lie: a till's clock may
// run a little fast, but an order from later than that is a mistake (or a till whose clock is
// wrong, whose orders would otherwise sort and expire out of turn).
const MaxFutureSkew = 5 * time.Minute

// Reasons of the orders a tenant's policy refuses (Settings.AcceptOrder), each Invalid with a
// violation on the field.
const (
	ReasonCurrencyNotAccepted = "CURRENCY_NOT_ACCEPTED"   // the currency is not one of accepted_currencies
	ReasonItemsExceedAmount   = "ITEMS_EXCEED_AMOUNT"     // the items total more than amount_minor
	ReasonOrderTimeOutOfRange = "ORDER_TIME_OUT_OF_RANGE" // create_time too old or in the future
)

// ValidToken reports whether s is a usable id: 1 to MaxTokenLen characters of
// [A-Za-z0-9._:-]. Ids appear in URL paths and storage keys, so nothing else is allowed.
func ValidToken(s string) bool {
	if s == "" || len(s) > MaxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// CheckToken adds a violation on field unless id is a valid token.
func CheckToken(v *apperr.Violations, field, id string) {
	if !ValidToken(id) {
		v.Add(field, "must be 1 to %d characters of A-Z a-z 0-9 . _ : -", MaxTokenLen)
	}
}

// CheckText adds a violation on field unless s is valid UTF-8 of at most max characters.
func CheckText(v *apperr.Violations, field, s string, max int) {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		v.Add(field, "must be valid UTF-8 of at most %d characters", max)
	}
}

// CheckOrder adds what is wrong with an order to record to v, with field names under prefix
// (such as "order."): id a token; member_id and store_id empty or tokens; amount_minor
// positive; currency three upper-case letters; items each with a quantity and no negative
// price. What the tenant's policy and the order's own totals decide, each with a reason of its
// own, is Settings.AcceptOrder's (the create_time window included: the time argument is unused).
func CheckOrder(v *apperr.Violations, prefix string, o *Order, _ time.Time) {
	CheckToken(v, prefix+"id", o.ID)
	if o.MemberID != "" {
		CheckToken(v, prefix+"member_id", o.MemberID)
	}
	if o.StoreID != "" {
		CheckToken(v, prefix+"store_id", o.StoreID)
	}
	if o.AmountMinor <= 0 || o.AmountMinor > ledger.MaxAmountMinor {
		v.Add(prefix+"amount_minor", "must be between 1 and %d", int64(ledger.MaxAmountMinor))
	}
	if err := ledger.ValidateOrder(ledger.Order{Currency: o.Currency, TotalMinor: max(o.AmountMinor, 0), Items: o.Items}); err != nil {
		var e *apperr.Error
		if !errors.As(err, &e) {
			v.Add(prefix+"items", "%s", err.Error())
			return
		}
		for _, fv := range e.Violations {
			if fv.Field == "total_minor" {
				continue // amount_minor is checked above, under its request name
			}
			v.Add(prefix+fv.Field, "%s", fv.Description)
		}
	}
}

// AcceptOrder returns why the tenant whose settings s are refuses order o, which CheckOrder
// passed, at now; prefix is what names o in the request ("order.", "orders[3].") and its
// fields are named after it. It checks, in this order, and returns the first refusal:
// the currency is one of the policy's AcceptedCurrencies (CURRENCY_NOT_ACCEPTED on
// "currency"); the items total at most amount_minor (ITEMS_EXCEED_AMOUNT on "items"); a given
// create_time lies at most MaxOrderAge before now and MaxFutureSkew after it
// (ORDER_TIME_OUT_OF_RANGE on "create_time"). Each is Invalid. It runs in the transaction that
// records the order, on the policy that transaction reads.
func (s *Settings) AcceptOrder(o *Order, prefix string, now time.Time) error {
	refuse := func(reason, field, description, format string, args ...any) *apperr.Error {
		e := apperr.E(apperr.Invalid, reason, format, args...).With("order_id", o.ID)
		e.Violations = []apperr.FieldViolation{{Field: prefix + field, Description: description}}
		return e
	}
	if !s.Policy.Accepts(o.Currency) {
		accepted := strings.Join(s.Policy.AcceptedCurrencies, ", ")
		return refuse(ReasonCurrencyNotAccepted, "currency", "must be one of the tenant's accepted currencies: "+accepted,
			"the tenant does not accept orders in %s (accepted: %s)", o.Currency, accepted).
			With("currency", o.Currency).With("accepted_currencies", accepted)
	}
	if !itemsWithin(o.Items, o.AmountMinor) {
		return refuse(ReasonItemsExceedAmount, "items", "must total (quantity × unit_price_minor) at most amount_minor",
			"the items of order %q total more than its amount of %d", o.ID, o.AmountMinor).
			With("amount_minor", strconv.FormatInt(o.AmountMinor, 10))
	}
	if t := o.CreateTime; !t.IsZero() {
		earliest, latest := now.Add(-s.MaxOrderAge), now.Add(MaxFutureSkew)
		if t.Before(earliest) || t.After(latest) {
			days := strconv.Itoa(s.Policy.MaxOrderAgeDays)
			return refuse(ReasonOrderTimeOutOfRange, "create_time",
				"must lie at most "+days+" days in the past and "+strconv.Itoa(int(MaxFutureSkew/time.Minute))+" minutes in the future",
				"create_time %s is outside %s to %s", t.UTC().Format(time.RFC3339), earliest.UTC().Format(time.RFC3339),
				latest.UTC().Format(time.RFC3339)).
				With("earliest_time", earliest.UTC().Format(time.RFC3339)).With("latest_time", latest.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// itemsWithin reports whether items total (quantity × unit price) at most amount, without
// overflow: each line is compared with what the lines before it left of amount.
func itemsWithin(items []ledger.Item, amount int64) bool {
	left := amount
	for _, it := range items {
		if it.Quantity <= 0 || it.UnitPriceMinor <= 0 {
			continue // a free line adds nothing; CheckOrder refuses negative ones
		}
		if left < 0 || it.Quantity > left/it.UnitPriceMinor {
			return false
		}
		left -= it.Quantity * it.UnitPriceMinor
	}
	return true
}

// CheckPoints adds a violation on field unless 0 < p <= ledger.MaxPoints.
func CheckPoints(v *apperr.Violations, field string, p int64) {
	if p <= 0 || p > ledger.MaxPoints {
		v.Add(field, "must be between 1 and %d", ledger.MaxPoints)
	}
}

// NotFoundOrder is the error for an unknown order id.
func NotFoundOrder(id string) error {
	return apperr.E(apperr.NotFound, ReasonOrderNotFound, "order %q not found", id).With("order_id", id)
}

// OrderExists is the error for an order id that holds a different order; field names the id in
// the request ("order.id").
func OrderExists(id, field string) error {
	e := apperr.E(apperr.AlreadyExists, ReasonOrderExists, "order %q was recorded with different content", id).With("order_id", id)
	e.Violations = []apperr.FieldViolation{{Field: field, Description: "is taken by a different order"}}
	return e
}

// Same reports whether in, an order as a caller submitted it (CreateTime zero when it gave
// none), is the order o was recorded from: a retry, which gets o back, rather than a different
// order under the same id.
func (o *Order) Same(in *Order) bool {
	if o.ID != in.ID || o.MemberID != in.MemberID || o.AmountMinor != in.AmountMinor || o.Currency != in.Currency ||
		o.StoreID != in.StoreID || !slices.Equal(o.Items, in.Items) {
		return false
	}
	if in.CreateTime.IsZero() {
		return o.TimeDefaulted
	}
	return !o.TimeDefaulted && o.CreateTime.Equal(in.CreateTime)
}

// CheckRef adds a violation on field unless ref is at most MaxTokenLen bytes of printable
// UTF-8 text (a caller's reference, such as a checkout id).
func CheckRef(v *apperr.Violations, field, ref string) {
	if len(ref) > MaxTokenLen || !utf8.ValidString(ref) || strings.IndexFunc(ref, unicode.IsControl) >= 0 {
		v.Add(field, "must be at most %d bytes of printable text", MaxTokenLen)
	}
}
