package kit

import (
	"fmt"
	"strings"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/opsapi"
)

// plan is what a process runs: the hosted services in start order (each after the services it
// calls), and what it knows of the rest of the list.
type plan struct {
	all    []planned // the whole list, in list order
	hosted []planned
	host   map[string]bool
}

type planned struct {
	svc Service
	d   Description
}

// EnvName is the environment variable of a service's address: HUIYUAN_<NAME>_ADDR.
func EnvName(service string) string { return "HUIYUAN_" + strings.ToUpper(service) + "_ADDR" }

func newPlan(cfg Config, list []Service) (*plan, error) {
	pl := &plan{host: map[string]bool{}}
	byName := map[string]planned{}
	apiOwner := map[string]string{}
	for _, s := range list {
		d := s.Describe()
		if err := natsx.ValidateService(d.Name); err != nil {
			return nil, fmt.Errorf("kit: service %q: %w", d.Name, err)
		}
		if _, dup := byName[d.Name]; dup {
			return nil, fmt.Errorf("kit: service %q listed twice", d.Name)
		}
		for _, api := range d.APIs {
			if other, dup := apiOwner[api]; dup {
				return nil, fmt.Errorf("kit: %s is served by both %s and %s", api, other, d.Name)
			}
			apiOwner[api] = d.Name
		}
		pl.all = append(pl.all, planned{s, d})
		byName[d.Name] = planned{s, d}
	}
	for _, p := range pl.all {
		for _, dep := range append(append([]string(nil), p.d.Calls...), p.d.Consumes...) {
			if _, ok := byName[dep]; !ok {
				return nil, fmt.Errorf("kit: %s depends on %q, which is not in the list", p.d.Name, dep)
			}
		}
	}
	switch _, ok := byName[cfg.Target]; {
	case cfg.Target == All:
		for _, p := range pl.all {
			pl.host[p.d.Name] = true
		}
	case ok:
		pl.host[cfg.Target] = true
	default:
		names := make([]string, len(pl.all))
		for i, p := range pl.all {
			names[i] = p.d.Name
		}
		return nil, fmt.Errorf("HUIYUAN_SERVICE=%q: want %s or one of %s", cfg.Target, All, strings.Join(names, ", "))
	}
	// Start order: depth first along Calls, so a service starts after those it calls.
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("kit: services call each other in a cycle: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		p := byName[name]
		for _, dep := range p.d.Calls {
			if pl.host[dep] {
				if err := visit(dep, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		pl.hosted = append(pl.hosted, p)
		return nil
	}
	for _, p := range pl.all {
		if pl.host[p.d.Name] {
			if err := visit(p.d.Name, nil); err != nil {
				return nil, err
			}
		}
	}
	// Every service a hosted one calls, and iam when keys are checked remotely, needs an address.
	need := map[string]bool{}
	for _, p := range pl.hosted {
		for _, dep := range p.d.Calls {
			need[dep] = true
		}
		if p.d.Edge {
			for _, o := range pl.all {
				if len(o.d.Gateway) > 0 || !o.d.Stateless {
					need[o.d.Name] = true // routes, or ListEvents and backups
				}
			}
		}
		for _, dep := range p.d.Consumes {
			need[dep] = true // gaps are filled from the producer's ListEvents
		}
	}
	if _, ok := byName[IAM]; ok && cfg.Keys == nil {
		need[IAM] = true
	}
	if owner, err := pl.tokenOwner(); err != nil {
		return nil, err
	} else if owner != nil && len(pl.hosted) > 0 {
		need[owner.d.Name] = true // every process checks member tokens with it
	}
	for _, p := range pl.all {
		if need[p.d.Name] && !pl.host[p.d.Name] && cfg.Addrs[p.d.Name] == "" {
			return nil, fmt.Errorf("%s: the address of the %s service is required when it runs in another process", EnvName(p.d.Name), p.d.Name)
		}
	}
	return pl, nil
}

func (pl *plan) isHosted(name string) bool { return pl.host[name] }

// tokenOwner is the service of the list that revokes member tokens, or nil.
func (pl *plan) tokenOwner() (*planned, error) {
	var owner *planned
	for i, p := range pl.all {
		if p.d.MemberTokens == nil {
			continue
		}
		if owner != nil {
			return nil, fmt.Errorf("kit: both %s and %s describe member token checks", owner.d.Name, p.d.Name)
		}
		owner = &pl.all[i]
	}
	return owner, nil
}

func (pl *plan) descriptions() []Description {
	out := make([]Description, len(pl.hosted))
	for i, p := range pl.hosted {
		out[i] = p.d
	}
	return out
}

// servesGRPC reports whether a hosted service has gRPC APIs (the gateway alone has none).
func (pl *plan) servesGRPC() bool {
	for _, p := range pl.hosted {
		if len(p.d.APIs) > 0 || !p.d.Stateless {
			return true
		}
	}
	return false
}

// domains maps each hosted API to its service's error domain.
func (pl *plan) domains() map[string]string {
	out := map[string]string{}
	for _, p := range pl.hosted {
		for _, api := range p.d.APIs {
			out[api] = p.d.Domain
		}
	}
	return out
}

// policy merges the hosted services' policies with the operations API's.
func (pl *plan) policy() auth.Policy {
	ps := []auth.Policy{opsapi.Policy()}
	for _, p := range pl.hosted {
		ps = append(ps, p.d.Policy)
	}
	return auth.Merge(ps...)
}

// apis maps every API of the list to its service.
func (pl *plan) apis() map[string]string {
	out := map[string]string{}
	for _, p := range pl.all {
		for _, api := range p.d.APIs {
			out[api] = p.d.Name
		}
	}
	return out
}

// everything describes every service of the list.
func (pl *plan) everything() []Description {
	out := make([]Description, len(pl.all))
	for i, p := range pl.all {
		out[i] = p.d
	}
	return out
}

// Grant is what a service does on the broker, from which its credential's permissions follow:
// it publishes its own events when it has an event log, and reads each producer it consumes
// through one durable consumer named after itself.
func Grant(d Description) natsx.ServiceGrant {
	return natsx.ServiceGrant{Service: d.Name, Produces: d.Events, Consumes: d.Consumes, Durable: d.Name}
}

// checkFlags reports the hosted services' bad settings (FlagChecker) before anything is opened.
func (pl *plan) checkFlags() error {
	var p config.Problems
	for _, s := range pl.hosted {
		if fc, ok := s.svc.(FlagChecker); ok {
			fc.CheckFlags(&p)
		}
	}
	return p.Err()
}
