package kit

import (
	"log/slog"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"

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
