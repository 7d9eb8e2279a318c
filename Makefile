# Huiyuan — see README.md. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLBIN := $(CURDIR)/tools/bin
TOOLS := $(TOOLBIN)/buf $(TOOLBIN)/protoc-gen-go $(TOOLBIN)/protoc-gen-go-grpc \
	$(TOOLBIN)/protoc-gen-grpc-gateway $(TOOLBIN)/protoc-gen-openapiv2 $(TOOLBIN)/staticcheck $(TOOLBIN)/benchstat
# Every module of the workspace; `go test ./...` does not work at a go.work root without a module.
MODULES := gen pkg services/iam services/member services/loyalty services/coupon services/gateway services/suite
PKGS := $(addsuffix /...,$(addprefix ./,$(MODULES)))
TEST_TIMEOUT ?= 12m
BENCHTIME ?= 2s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(TOOLS) &: tools/go.mod tools/go.sum
	cd tools && GOWORK=off GOBIN=$(TOOLBIN) go install tool
	@touch $(TOOLS)

.PHONY: tools
tools: $(TOOLS) ## install the pinned code generators and linters into tools/bin

.PHONY: run
run: ## run the whole suite in one process (embedded NATS), ready to curl
	go run ./services/suite/cmd/huiyuan serve

.PHONY: build
build: ## build bin/huiyuan
	go build -o bin/huiyuan ./services/suite/cmd/huiyuan

.PHONY: test
test: ## all tests, race detector on
	go test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

.PHONY: test-nats
test-nats: ## integration tests against an external NATS server at $$NATS_URL
	@if [ -z "$$NATS_URL" ]; then echo "NATS_URL is not set; skipping"; else \
		set -o pipefail; go test -race -count=1 -run 'External' -v ./pkg/eventlog/ | grep -E '^(--- |ok|FAIL|PASS)'; fi

.PHONY: generate
generate: $(TOOLS) ## regenerate gen/ from proto/ with the pinned buf and plugins
	$(TOOLBIN)/buf generate

.PHONY: check-generated
check-generated: generate ## fail when gen/ differs from a fresh generation
	@git diff --exit-code --stat -- gen || (echo "gen/ is stale: run make generate and commit"; exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- gen)" || (git status --porcelain -- gen; echo "gen/ has untracked generated files"; exit 1)

.PHONY: lint
lint: $(TOOLS) ## gofmt, buf lint, go vet, staticcheck
	@test -z "$$(gofmt -l $(MODULES))" || (gofmt -l $(MODULES); echo "gofmt: files above need formatting (make fmt)"; exit 1)
	$(TOOLBIN)/buf lint
	go vet $(PKGS)
	$(TOOLBIN)/staticcheck $(PKGS)

.PHONY: fmt
fmt: ## gofmt every module
	gofmt -s -w $(MODULES)

.PHONY: bench
bench: ## the benchmarks recorded in docs/benchmarks.md
	go test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 1 ./pkg/boltx/ ./pkg/grpcx/ ./pkg/eventlog/ \
		./services/loyalty/... ./services/suite/...
