package eventlog

import (
	"github.com/nats-io/nats.go"

	platformv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/platform/v1"
)

// NewMsg is the message a relay publishes for rec, for tests that play the broker's past or a
// forger who copies it.
func NewMsg(service string, rec *platformv1.EventRecord) *nats.Msg { return newMsg(service, rec) }
