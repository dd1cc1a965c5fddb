# neo4jctl — developer and CI entry points. CI runs .ci/run, which runs `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

GO           ?= go
TEST_TIMEOUT ?= 30m
# -count=1: the tests drive real moto and Neo4j processes whose state go test's
# cache cannot see, so never report a cached pass.
TEST_FLAGS   ?= -count=1
# Packages that run whole actions in one process with fakes and the cluster simulator
# (stacks applied in parallel, polls, Ctrl-C): run them again under the race detector,
# which costs seconds here (the packages that drive moto and Neo4j would cost minutes).
RACE_PKGS    ?= ./pkg/ops ./pkg/rollout ./pkg/engine ./pkg/awsapi ./pkg/cluster ./internal/clustersim

# moto_server, cfn-lint and checkov come from the repo's .venv (make test-deps).
export PATH := $(CURDIR)/.venv/bin:$(PATH)

GO_FILES = $(shell find . -mindepth 1 \( -name '.*' -o -name testdata -o -name node_modules -o -name target \) -prune -o -type f -name '*.go' -print)

.PHONY: test test-deps fmt-check vet build agent clean demo

## test-deps: .venv with moto/cfn-lint/checkov and the Neo4j test server (idempotent)
test-deps:
	scripts/test-deps.sh

## test: everything CI checks
test: test-deps agent fmt-check vet
	$(GO) test $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -race $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) $(RACE_PKGS)

fmt-check:
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [[ -n "$$unformatted" ]]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

# ---------------------------------------------------------------------------
# build: EXTEND HERE (agent bundle, go:embed inputs, ldflags/version stamping,
# cross-builds). Keep `make build` producing bin/neo4jctl.
## agent: the reproducible agent bundles that neo4jctl embeds (go:embed needs them first)
agent:
	$(GO) run ./cmd/build-agent

build: agent
	$(GO) build -o bin/neo4jctl ./cmd/neo4jctl
# ---------------------------------------------------------------------------

## demo: create, show and delete a cluster against a local moto (scripts/demo.sh)
demo:
	@scripts/demo.sh

clean:
	rm -rf bin dist test/neo4j/target
