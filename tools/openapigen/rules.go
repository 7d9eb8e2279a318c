package main

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v4"
)

// rule is one HTTP binding of an RPC, as google.api.HttpRule has it.
type rule struct {
	Selector           string `yaml:"selector"`
	Get                string `yaml:"get"`
	Put                string `yaml:"put"`
	Post               string `yaml:"post"`
	Delete             string `yaml:"delete"`
	Patch              string `yaml:"patch"`
	Body               string `yaml:"body"`
	ResponseBody       string `yaml:"response_body"`
	AdditionalBindings []rule `yaml:"additional_bindings"`
}

// binding is a rule reduced to one method and path template.
type binding struct {
	RPC    string // "/huiyuan.member.v1.MemberService/GetMember"
	Method string // "GET"
	Path   string // "/v1/members/{member_id}", variables by proto field path
	Body   string // "", "*" or the request field that is the body
}

func loadRules(path string) ([]binding, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the HTTP rules: %w", err)
	}
	var cfg struct {
		HTTP struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []binding
	for _, r := range cfg.HTTP.Rules {
		bs, err := r.bindings(r.Selector)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, bs...)
	}
	return out, nil
}

func (r rule) bindings(selector string) ([]binding, error) {
	i := strings.LastIndexByte(selector, '.')
	if i < 0 {
		return nil, fmt.Errorf("selector %q is not service.Method", selector)
	}
	b := binding{RPC: "/" + selector[:i] + "/" + selector[i+1:], Body: r.Body}
	for _, m := range []struct{ method, path string }{
		{"GET", r.Get}, {"PUT", r.Put}, {"POST", r.Post}, {"DELETE", r.Delete}, {"PATCH", r.Patch},
	} {
		if m.path != "" {
			b.Method, b.Path = m.method, m.path
		}
	}
	if b.Method == "" {
		return nil, fmt.Errorf("rule %s has no method", selector)
	}
	out := []binding{b}
	for _, a := range r.AdditionalBindings {
		more, err := a.bindings(selector)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}
