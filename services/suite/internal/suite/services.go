package suite

import (
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/services/coupon/coupond"
	"github.com/huiyuan-dev/huiyuan/services/gateway/gatewayd"
	"github.com/huiyuan-dev/huiyuan/services/iam/iamd"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/loyaltyd"
	"github.com/huiyuan-dev/huiyuan/services/member/memberd"
)

// Services are the services of the suite, in the order `--service all` starts them (each after
// those it calls). Adding a service is one line here (docs/adding-a-service.md).
func Services() []kit.Service {
	return []kit.Service{
		iamd.Module(),
		memberd.Module(),
		loyaltyd.Module(),
		coupond.Module(),
		gatewayd.Module(),
	}
}
