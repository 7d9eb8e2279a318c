# Huiyuan — see README.md. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLBIN := $(CURDIR)/tools/bin
TOOLS := $(TOOLBIN)/buf $(TOOLBIN)/protoc-gen-go $(TOOLBIN)/protoc-gen-go-grpc \
	$(TOOLBIN)/protoc-gen-grpc-gateway $(TOOLBIN)/protoc-gen-openapiv2 $(TOOLBIN)/staticcheck $(TOOLBIN)/benchstat \
	$(TOOLBIN)/nats-server $(TOOLBIN)/openapigen
# Every module of the workspace; `go test ./...` does not work at a go.work root without a module.
MODULES := gen pkg services/iam services/member services/loyalty services/coupon services/gateway services/suite
PKGS := $(addsuffix /...,$(addprefix ./,$(MODULES)))
TEST_TIMEOUT ?= 12m
BENCHTIME ?= 2s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(TOOLS) &: tools/go.mod tools/go.sum $(wildcard tools/openapigen/*.go)
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

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## every fuzz target for FUZZTIME (30s) each; a failing input is saved in testdata/fuzz, whose seeds make test runs
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' pkg services | sort); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$(dirname $$f) $$t"; \
			(cd $$(dirname $$f) && go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) .) || exit 1; \
		done; \
	done

.PHONY: test-nats
test-nats: ## integration tests against an external NATS server at $$NATS_URL
	@if [ -z "$$NATS_URL" ]; then echo "NATS_URL is not set; skipping"; else \
		set -o pipefail; go test -race -count=1 -run 'External' -v ./pkg/eventlog/ | grep -E '^(--- |ok|FAIL|PASS)'; fi

.PHONY: test-cluster
test-cluster: $(TOOLS) ## the separated layout: deploy/nats's three-node cluster (pinned nats-server) and one process per service
	NATS_SERVER_BIN=$(TOOLBIN)/nats-server go test -race -count=1 -timeout 10m -run 'TestCluster' -v ./pkg/natsx/ ./services/suite/internal/suite/ \
		| grep -E '^(=== RUN|--- |ok|FAIL|PASS|panic)|cluster_test.go'; test $${PIPESTATUS[0]} -eq 0

.PHONY: generate
generate: $(TOOLS) ## regenerate gen/ from proto/ with the pinned buf and plugins
	$(TOOLBIN)/buf generate
	@# The descriptor set with source info (comments) that gRPC reflection serves.
	$(TOOLBIN)/buf build -o gen/descriptors/huiyuan.binpb
	@# OpenAPI 3 from protoc-gen-openapiv2's Swagger 2.0 (kin-openapi), and the edge's route table.
	$(TOOLBIN)/openapigen -swagger .build/openapiv2/huiyuan.swagger.json -gateway proto/gateway.yaml \
		-reasons services/gateway/reasons.yaml -version-file VERSION -out gen/openapi

.PHONY: check-generated
check-generated: generate ## fail when gen/ differs from a fresh generation
	@git diff --exit-code --stat -- gen || (echo "gen/ is stale: run make generate and commit"; exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- gen)" || (git status --porcelain -- gen; echo "gen/ has untracked generated files"; exit 1)

# npm packages (pinned in clients/typescript/package-lock.json) for the OpenAPI lint and the
# generated TypeScript client's test.
NPM_DIR := clients/typescript
NPM_STAMP := $(NPM_DIR)/node_modules/.package-lock.json
$(NPM_STAMP): $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error

.PHONY: openapi-lint
openapi-lint: $(NPM_STAMP) ## redocly lint of gen/openapi/openapi.json (recommended rules, no errors)
	cd $(NPM_DIR) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint --config redocly.yaml ../../gen/openapi/openapi.json

.PHONY: test-ts-client
test-ts-client: $(NPM_STAMP) build ## generate the TypeScript client from the OpenAPI document, type-check it, run it against bin/huiyuan
	cd $(NPM_DIR) && npx --no-install openapi-typescript ../../gen/openapi/openapi.json -o src/huiyuan.d.ts --silent
	cd $(NPM_DIR) && rm -rf dist && npx --no-install tsc
	cd $(NPM_DIR) && HUIYUAN_BIN=$(CURDIR)/bin/huiyuan node --test dist/

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
		./services/loyalty/... ./services/gateway/edge/ ./services/suite/...
