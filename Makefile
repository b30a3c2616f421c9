# Signoff. `make dev` runs a local server with demo data; `make test` runs
# every test against a throwaway PostgreSQL.

GO ?= go
BIN ?= bin/signoff

# mailpit is the local SMTP server and mail viewer of `make dev` (and of
# the email tests): a binary under .dev/bin, not a go.mod dependency.
MAILPIT_VERSION ?= v1.27.11
MAILPIT ?= .dev/bin/mailpit

# Extra services `make dev` needs before it starts.
DEV_SERVICES ?= $(MAILPIT)

.PHONY: all build test lint dev ensure-postgres clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/signoff

ensure-postgres:
	@bash scripts/ensure-postgres.sh

test: ensure-postgres
	$(GO) test -count=1 ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

dev: ensure-postgres $(DEV_SERVICES)
	@MAILPIT=$(MAILPIT) bash scripts/with-mailpit.sh $(GO) run ./cmd/signoff dev

$(MAILPIT):
	GOBIN=$(CURDIR)/.dev/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

clean:
	rm -rf bin
