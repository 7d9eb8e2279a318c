package ledger

import "strings"

// Account names one account of the double-entry books. A Book holds its member's accounts
// (available, held, pending, debt) and its share of the tenant's system accounts: every
// posting a member's transactions make to a system account is counted in that member's
// book, so summing the books gives the tenant's system balances.
//
// Sign convention: a posting adds to its account's balance. Member accounts hold what the
// member has (available, held and pending are never below zero; debt is never above zero and
// its negative balance is what the member owes). System accounts are the other side: issued
// goes negative as points are issued, redeemed and expired grow as points leave.
type Account string

// The accounts.
const (
	Available Account = "available" // spendable points
	Held      Account = "held"      // reserved by open holds
	Pending   Account = "pending"   // earned, inside the return window
	Debt      Account = "debt"      // <= 0: points owed after a refund reversed spent points

	Issued      Account = "issued"      // source of earned points; reversals return here
	Redeemed    Account = "redeemed"    // points spent
	Expired     Account = "expired"     // points that lapsed
	Adjustments Account = "adjustments" // admin corrections, both ways
	Transfers   Account = "transfers"   // clearing for member-to-member transfers; nets to zero over both books

	campaignPrefix = "campaign/"
	budgetSuffix   = "/budget"
)

// CampaignBudget is the system account that funds campaign id's points: "campaign/<id>/budget".
func CampaignBudget(id string) Account { return Account(campaignPrefix + id + budgetSuffix) }

// CampaignOf returns the campaign id of a campaign budget account and whether a is one.
func (a Account) CampaignOf() (string, bool) {
	s := string(a)
	if !strings.HasPrefix(s, campaignPrefix) || !strings.HasSuffix(s, budgetSuffix) ||
		len(s) <= len(campaignPrefix)+len(budgetSuffix) {
		return "", false
	}
	return s[len(campaignPrefix) : len(s)-len(budgetSuffix)], true
}

// IsMember reports whether a is one of a member's own accounts rather than a system account.
func (a Account) IsMember() bool {
	return a == Available || a == Held || a == Pending || a == Debt
}

// known reports whether a is an account this package posts to.
func (a Account) known() bool {
	switch a {
	case Available, Held, Pending, Debt, Issued, Redeemed, Expired, Adjustments, Transfers:
		return true
	}
	_, ok := a.CampaignOf()
	return ok
}
