# Portage. `make test` and `make demo` need nothing but Go and Debian's
# package manager: PostgreSQL comes from DATABASE_URL when set, else from a
# throwaway cluster started from the system's server binaries (installed when
# missing).

GO ?= go
# Run with the tests: a PostgreSQL on DATABASE_URL or a throwaway cluster.
WITHPG = $(GO) run ./local/withpg
TESTFLAGS ?= -race -count=1 -timeout 20m

.PHONY: test lint vet fmt-check pg demo migrate

## test: lint, then every test against a real PostgreSQL
test: lint pg
	$(WITHPG) $(GO) test $(TESTFLAGS) ./...

## demo: import a sample file with typical mistakes, end to end, and print the outcome
demo: pg
	$(WITHPG) $(GO) run ./cmd/portage demo

## lint: formatting, go vet, staticcheck
lint: fmt-check vet
	$(GO) tool staticcheck ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## pg: install PostgreSQL server binaries if the tests need them and they are missing
pg:
	@./scripts/ensure-postgres.sh

## migrate: apply the migrations to DATABASE_URL
migrate:
	$(GO) run ./cmd/portage migrate
