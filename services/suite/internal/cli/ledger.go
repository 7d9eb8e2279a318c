package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// errLedgerBroken makes `huiyuan ledger verify` exit non-zero when the books do not verify, so a
// cron job or a monitor can act on it.
var errLedgerBroken = errors.New("the ledger did not verify")

func ledger(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, "Usage: huiyuan ledger verify [--addr A] [--key K]\n\n"+
			"Recomputes every member's balances from the postings of the caller's tenant and checks the\n"+
			"tenant's hash chain of transactions. Exits 1 and lists the problems when anything is off.\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("ledger verify", "Verifies the points ledger of the key's tenant.", stderr)
	var r remote
	if err := parseRemote(fs, &r, args[1:], env); err != nil {
		return err
	}
	conn, cctx, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := loyaltyv1.NewLoyaltyServiceClient(conn).VerifyLedger(cctx, &loyaltyv1.VerifyLedgerRequest{})
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "checked %d transactions and %d member books\n", resp.GetTransactions(), resp.GetMembers())
	for _, p := range resp.GetProblems() {
		fmt.Fprintln(stdout, "problem:", p)
	}
	if !resp.GetOk() {
		return errLedgerBroken
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
