package memberd

import (
	"context"
	"log/slog"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
)

// auditor writes reads of personal data to the audit log with who read them.
type auditor struct{ log *slog.Logger }

// PersonalDataRead implements member.Auditor.
func (a auditor) PersonalDataRead(ctx context.Context, tenant, action string, memberIDs []string) {
	p, _ := auth.FromContext(ctx)
	a.log.LogAttrs(ctx, slog.LevelInfo, "personal data read",
		slog.String("tenant", tenant),
		slog.String("action", action),
		slog.String("role", p.Role.String()),
		slog.String("key_id", p.KeyID),
		slog.String("principal_member_id", p.MemberID),
		slog.Any("member_ids", memberIDs),
	)
}
