package kit

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
)

// fake is a Service with a fixed description.
type fake struct{ d Description }

func (f fake) Describe() Description                        { return f.d }
func (f fake) Flags(*flag.FlagSet)                          {}
func (f fake) Start(context.Context, Env) (*Running, error) { return &Running{}, nil }

func svc(name string, calls ...string) Service {
	return fake{Description{Name: name, Domain: name + ".test", Calls: calls}}
}

func TestPlan(t *testing.T) {
	list := []Service{svc("gateway", "loyalty"), svc("loyalty", "member"), svc("member"), svc("iam")}
	tests := []struct {
		name    string
		target  string
		list    []Service
		addrs   map[string]string
		keys    bool
		order   string // hosted, in start order
		wantErr string
	}{
		{name: "all starts each after the ones it calls", target: All, list: list, order: "member loyalty gateway iam"},
		{name: "one service with its callee's address", target: "loyalty", list: list,
			addrs: map[string]string{"member": "h:1", "iam": "h:2"}, order: "loyalty"},
		{name: "a callee without an address", target: "loyalty", list: list, addrs: map[string]string{"iam": "h:2"},
			wantErr: "HUIYUAN_MEMBER_ADDR"},
		{name: "iam is needed for keys unless keys are given", target: "member", list: list, wantErr: "HUIYUAN_IAM_ADDR"},
		{name: "keys given", target: "member", list: list, keys: true, order: "member"},
		{name: "unknown target", target: "coupon", list: list, wantErr: `HUIYUAN_SERVICE="coupon"`},
		{name: "listed twice", target: All, list: []Service{svc("a"), svc("a")}, wantErr: "listed twice"},
		{name: "unknown dependency", target: All, list: []Service{svc("a", "b")}, wantErr: `depends on "b"`},
		{name: "cycle", target: All, list: []Service{svc("a", "b"), svc("b", "a")}, wantErr: "cycle"},
		{name: "bad name", target: All, list: []Service{svc("Not-A-Name")}, wantErr: "Not-A-Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Target: tt.target, Addrs: tt.addrs}
			if tt.keys {
				cfg.Keys = noKeys{}
			}
			p, err := newPlan(cfg, tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range p.descriptions() {
				names = append(names, d.Name)
			}
			if got := strings.Join(names, " "); got != tt.order {
				t.Fatalf("order %q, want %q", got, tt.order)
			}
		})
	}
}

// noKeys authenticates nothing; it only stands in for an API key authenticator.
type noKeys struct{}

func (noKeys) Authenticate(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, errors.New("no keys")
}
