package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// reason is one entry of the catalogue of ErrorInfo reasons.
type reason struct {
	Reason      string   `yaml:"reason"`
	Status      int      `yaml:"status"`
	Description string   `yaml:"description"`
	Applies     []string `yaml:"applies"`
}

func loadReasons(path string) ([]reason, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the reasons: %w", err)
	}
	var cat struct {
		Reasons []reason `yaml:"reasons"`
	}
	if err := yaml.Unmarshal(raw, &cat); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	seen := map[string]bool{}
	for _, r := range cat.Reasons {
		if r.Reason == "" || r.Status < 400 || r.Status > 599 || r.Description == "" {
			return nil, fmt.Errorf("%s: reason %q needs a name, an HTTP error status and a description", path, r.Reason)
		}
		if seen[r.Reason] {
			return nil, fmt.Errorf("%s: reason %s listed twice", path, r.Reason)
		}
		seen[r.Reason] = true
	}
	return cat.Reasons, nil
}

// operationFacts are what decides which reasons an operation can return.
type operationFacts struct {
	rpc      string // "/huiyuan.member.v1.MemberService/GetMember"
	hasBody  bool
	mutating bool // takes a request id
}

// appliesTo reports whether r can be the answer of the operation. Selectors: "*" every
// operation, "body" those with a request body, "mutating" those that take a request id, a
// service's full name ("huiyuan.member.v1.MemberService") its operations, a method's full name
// ("huiyuan.member.v1.MemberService.GetMember") that one.
func (r reason) appliesTo(op operationFacts) bool {
	svc, method, _ := strings.Cut(strings.TrimPrefix(op.rpc, "/"), "/")
	return slices.ContainsFunc(r.Applies, func(sel string) bool {
		switch sel {
		case "*":
			return true
		case "body":
			return op.hasBody
		case "mutating":
			return op.mutating
		}
		return sel == svc || sel == svc+"."+method
	})
}
