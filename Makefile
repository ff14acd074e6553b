# Portage. `make test` and `make demo` need nothing but Go, npm and Debian's
# package manager: PostgreSQL comes from DATABASE_URL when set, else from a
# throwaway cluster started from the system's server binaries (installed
# when missing); S3 is versitygw, built from the Go module proxy.

GO ?= go
# Run with the tests: a PostgreSQL on DATABASE_URL or a throwaway cluster.
WITHPG = $(GO) run ./local/withpg
TESTFLAGS ?= -race -count=1 -timeout 30m
TOOLS = .build/tools
ASL_VALIDATOR = $(TOOLS)/node_modules/.bin/asl-validator
FUNCTIONS = api import-trigger import-inspect import-prepare import-chunk import-finalize import-fail rollback export export-sweeper

.PHONY: help test lint vet fmt-check mod-check fixtures-check cfn-lint asl-lint pg chromium web-deps web-test demo dev build migrate clean bench

# make bench ROWS=1000000: figures beside their baselines, a table and a JSON line.
ROWS ?= 100000
RSS_ROWS ?= 100000,1000000
# ONLY=import,update: some steps only (see go run ./bench -h)
ONLY ?=
# REPEAT: runs of each import and export figure, each beside its baseline (median reported)
REPEAT ?= 3
# BIG_TENANT: contacts the big tenant holds before the big-tenant import
BIG_TENANT ?= 1000000

## help: this list
help:
	@grep -E '^## [a-z-]+:' $(MAKEFILE_LIST) | sed -E 's/^## ([a-z-]+): /  make \1\t/' | expand -t 24

## test: lint, then every test against a real PostgreSQL and the local stack, then the web app in Chromium
test: lint pg web-deps
	$(GO) tool -n versitygw >/dev/null
	$(WITHPG) $(GO) test $(TESTFLAGS) ./...
	$(MAKE) --no-print-directory web-test

## web-test: the web app driven in Debian's Chromium (Playwright) against `portage dev`; screenshots in .build/web-screenshots
web-test: pg web-deps
	$(GO) build -o .build/portage ./cmd/portage
	PORTAGE_BIN=$(CURDIR)/.build/portage $(WITHPG) node --test --test-reporter=spec web/e2e/*.test.mjs

chromium:
	@./scripts/ensure-chromium.sh

web/e2e/node_modules/.package-lock.json: web/e2e/package-lock.json
	cd web/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund

web-deps: chromium web/e2e/node_modules/.package-lock.json

## lint: formatting, go vet, go.mod tidy, fixtures current, staticcheck, the SAM template and the state machines
lint: fmt-check vet mod-check fixtures-check asl-lint cfn-lint
	$(GO) tool staticcheck ./...

## vet: go vet
vet:
	$(GO) vet ./...

mod-check:
	$(GO) mod tidy -diff

# The XLSX fixtures are generated (they are binary): regenerating them must
# change nothing, or the committed ones are not what gen.go makes.
fixtures-check:
	@cd shared/readers && $(GO) run testdata/gen.go
	@git diff --quiet -- shared/readers/testdata || { git diff --stat -- shared/readers/testdata; \
		echo "shared/readers/testdata is stale: run (cd shared/readers && go run testdata/gen.go) and commit it"; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

$(ASL_VALIDATOR):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) asl-validator@4.0.0

asl-lint: $(ASL_VALIDATOR)
	@for f in statemachine/*.asl.json; do $(ASL_VALIDATOR) --no-arn-check --json-path $$f || exit 1; done

# cfn-lint comes from PyPI, which this project's machines cannot reach: it is
# used where the machine has it (it does here) and reported missing otherwise.
cfn-lint:
	@if command -v cfn-lint >/dev/null 2>&1; then cfn-lint template.yaml && echo "✓ cfn-lint template.yaml"; \
	else echo "cfn-lint not installed: template.yaml not linted"; fi

## bench: speed and memory against the machine's own bulk paths (never part of make test)
bench: pg
	$(WITHPG) $(GO) run ./bench -rows $(ROWS) -rss-rows $(RSS_ROWS) -only '$(ONLY)' -repeat $(REPEAT) -big-tenant $(BIG_TENANT)

## pg: install PostgreSQL server binaries if they are needed and missing
pg:
	@./scripts/ensure-postgres.sh

## demo: the local stack, a sample file with typical mistakes imported through the API, a summary
demo: pg
	@echo "Building the portage command (the first build downloads its modules: a minute or two)…"
	$(GO) run ./cmd/portage demo

# PORT: where `make dev` serves the API and the web app (127.0.0.1:PORT)
PORT ?= 8080

## dev: run the local stack in the foreground (PORT=9090 for another port; Ctrl-C stops it, its data kept)
dev: pg
	@echo "Building the portage command (the first build downloads its modules: a minute or two)…"
	$(GO) run ./cmd/portage dev --addr 127.0.0.1:$(PORT)

## migrate: apply the migrations to DATABASE_URL
migrate:
	$(GO) run ./cmd/portage migrate

## build: the Lambda bootstraps (linux/arm64, provided.al2023) under .build/<function>/
build:
	@for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o .build/$$f/bootstrap ./functions/$$f || exit 1; echo "built .build/$$f/bootstrap"; done

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
build-ApiFunction build-ImportTriggerFunction build-ImportInspectFunction build-ImportPrepareFunction build-ImportChunkFunction build-ImportFinalizeFunction build-ImportFailFunction build-RollbackFunction build-ExportFunction build-ExportSweeperFunction:
	$(eval FN := $(shell echo $(@:build-%Function=%) | sed -E 's/([a-z])([A-Z])/\1-\2/g' | tr A-Z a-z))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
		-o $(ARTIFACTS_DIR)/bootstrap ./functions/$(FN)

## clean: remove .build
clean:
	rm -rf .build
