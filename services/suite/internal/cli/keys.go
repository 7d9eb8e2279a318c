package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

func keys(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, "Usage: huiyuan keys <create|list|revoke> [flags]\n\n"+
			"  create --display-name NAME --role ADMIN|OPERATOR|SERVICE|ANALYST [--tenant T]\n"+
			"         prints the new key's secret once\n"+
			"  list   lists the caller's tenant's keys (never secrets)\n"+
			"  revoke --id ID   the key stops working at once\n\n"+
			"Each takes --addr (HUIYUAN_ADDR) and --key (HUIYUAN_KEY), an admin key.\n")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlags("keys "+sub, "Manages API keys on a running process.", stderr)
	var r remote
	name := fs.String("display-name", "", "create: label of the key")
	role := fs.String("role", "", "create: ADMIN, OPERATOR, SERVICE or ANALYST")
	tenant := fs.String("tenant", "", "create: tenant of the key (admins of \"default\" only); default the caller's")
	id := fs.String("id", "", "revoke: id of the key")
	if err := parseRemote(fs, &r, args, env); err != nil {
		return err
	}
	conn, cctx, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := iamv1.NewApiKeyServiceClient(conn)
	switch sub {
	case "create":
		rv, ok := iamv1.Role_value[strings.ToUpper(*role)]
		if !ok {
			return fmt.Errorf("--role %q: want ADMIN, OPERATOR, SERVICE or ANALYST", *role)
		}
		resp, err := c.CreateApiKey(cctx, &iamv1.CreateApiKeyRequest{RequestId: ids.New(), ApiKey: &iamv1.ApiKey{
			DisplayName: *name, Role: iamv1.Role(rv), Tenant: *tenant,
		}})
		if err != nil {
			return explain(err)
		}
		k := resp.GetApiKey()
		fmt.Fprintf(stdout, "created key %s (%s, tenant %s). Secret, shown only now:\n%s\n", k.GetId(), k.GetRole(), k.GetTenant(), resp.GetSecret())
	case "list":
		resp, err := c.ListApiKeys(cctx, &iamv1.ListApiKeysRequest{})
		if err != nil {
			return explain(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tTENANT\tCREATED\tREVOKED")
		for _, k := range resp.GetApiKeys() {
			revoked := "-"
			if k.GetRevokeTime() != nil {
				revoked = k.GetRevokeTime().AsTime().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.GetId(), k.GetDisplayName(), k.GetRole(), k.GetTenant(),
				k.GetCreateTime().AsTime().Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if *id == "" {
			return errors.New("--id is required")
		}
		resp, err := c.RevokeApiKey(cctx, &iamv1.RevokeApiKeyRequest{Id: *id, RequestId: ids.New()})
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "revoked key %s\n", resp.GetApiKey().GetId())
	default:
		return fmt.Errorf("unknown keys command %q: want create, list or revoke", sub)
	}
	return nil
}
