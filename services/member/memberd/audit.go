package memberd

import (
	"context"
	"log/slog"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/clock"
)

// auditor writes reads of personal data to the audit log with who read them.
type auditor struct {
	log  *auditlog.Logger
	clk  clock.Clock
	errs *slog.Logger
}

// PersonalDataRead implements member.Auditor. A failed audit write is logged as an error; the
// read itself has already happened.
func (a auditor) PersonalDataRead(ctx context.Context, tenant, action string, memberIDs []string) {
	p, _ := auth.FromContext(ctx)
	err := a.log.Log(auditlog.Record{
		Time: a.clk.Now(), Tenant: tenant, Action: action, Role: iamv1.Role_name[int32(p.Role)],
		KeyID: p.KeyID, PrincipalMemberID: p.MemberID, MemberIDs: memberIDs,
	})
	if err != nil {
		a.errs.ErrorContext(ctx, "audit log write failed", "err", err)
	}
}
