package kit

import (
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// RevocationSubject matches the iam service's api_key_revoked events of every tenant.
const RevocationSubject = "huiyuan.*.iam.v1.api_key_revoked"

// subscribeRevocations evicts revoked keys from remote's cache as their events arrive. A plain
// subscription suffices: a missed event only lets the key live until its cache entry expires.
func subscribeRevocations(nc *nats.Conn, remote *auth.RemoteKeys, log *slog.Logger) (*nats.Subscription, error) {
	return nc.Subscribe(RevocationSubject, func(m *nats.Msg) {
		var ev iamv1.ApiKeyRevokedEvent
		if err := proto.Unmarshal(m.Data, &ev); err != nil || ev.GetKeyId() == "" {
			log.Warn("undecodable key revocation event", "subject", m.Subject, "err", err)
			return
		}
		remote.Evict(ev.GetKeyId())
	})
}

// subscribeTokenRevocations evicts revoked member tokens from remote's cache as their events
// arrive (huiyuan.<tenant>.member.v1.member_tokens_revoked). As for keys, a missed event only
// lets a token be trusted until its cache entry expires.
func subscribeTokenRevocations(nc *nats.Conn, remote *auth.RemoteTokens,
	decode func(tenant string, payload []byte) (auth.TokenRevocation, error), log *slog.Logger) (*nats.Subscription, error) {
	return nc.Subscribe(natsx.MemberTokenRevocations, func(m *nats.Msg) {
		parts := strings.Split(m.Subject, ".")
		if len(parts) < 2 {
			return
		}
		rev, err := decode(parts[1], m.Data)
		if err != nil || rev.MemberID == "" {
			log.Warn("undecodable member token revocation event", "subject", m.Subject, "err", err)
			return
		}
		remote.Evict(rev)
	})
}
