package membership

// meets reports whether figures over the window (spend, orders) and tenure (months) qualify for t.
func (t *Tier) meets(spend, orders int64, tenure int) bool {
	switch t.Basis {
	case BasisSpend:
		return spend >= t.MinSpend
	case BasisOrders:
		return orders >= int64(t.MinOrders)
	case BasisSpendAndOrders:
		return spend >= t.MinSpend && orders >= int64(t.MinOrders)
	case BasisSpendOrOrders:
		return spend >= t.MinSpend || orders >= int64(t.MinOrders)
	case BasisTenure:
		return tenure >= t.MinTenureMonths
	}
	return t.Rank == 0
}

// missing returns the spend and orders still needed to meet t, for a drop notice. For
// SPEND_OR_ORDERS either one suffices.
func (t *Tier) missing(spend, orders int64) (int64, int) {
	var ms int64
	var mo int
	if t.Basis != BasisOrders && t.Basis != BasisTenure {
		ms = max(0, t.MinSpend-spend)
	}
	if t.Basis != BasisSpend && t.Basis != BasisTenure {
		mo = int(max(0, int64(t.MinOrders)-orders))
	}
	return ms, mo
}
