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

.PHONY: all build test lint dev ensure-postgres ensure-chromium clean bench faults

all: build

build:
	$(GO) build -o $(BIN) ./cmd/signoff

ensure-postgres:
	@bash scripts/ensure-postgres.sh

ensure-chromium:
	@bash scripts/ensure-chromium.sh

# Every test: store, core, CLI, Slack (slacktest), email (mailpit) and the
# link pages in headless Chromium. Missing pieces are installed first.
test: ensure-postgres ensure-chromium $(MAILPIT)
	MAILPIT_BIN=$(CURDIR)/$(MAILPIT) $(GO) test -count=1 ./...

# `make bench` measures this machine against the targets of
# docs/performance.md (a few minutes; not run by CI): it prints a table and writes bench/results.json
# and bench/plans.txt. BENCH_FLAGS adds flags, e.g. BENCH_FLAGS="-scale 100000"
# or BENCH_FLAGS="-phases scale -profile bench/prof".
BENCH_FLAGS ?=
bench: ensure-postgres
	$(GO) run ./cmd/signoff-bench -out bench/results.json $(BENCH_FLAGS)

# `make faults` runs the fault suite (faults/, build tag "faults"): the real
# `signoff serve` binary against PostgreSQL, mailpit and a fake Slack, killed,
# starved of its database, its SMTP sink and Slack, run as three replicas and
# fed forged input, and raced admins against authors and approvers. About
# four minutes; CI runs it after `make test`. It prints a summary that
# docs/faults.md quotes.
faults: ensure-postgres $(MAILPIT)
	$(GO) vet -tags faults ./faults/
	MAILPIT_BIN=$(CURDIR)/$(MAILPIT) $(GO) test -tags faults -count=1 -v -timeout 20m ./faults/

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags faults ./faults/
	GOBIN=$(CURDIR)/.dev/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	.dev/bin/staticcheck ./...

dev: ensure-postgres $(DEV_SERVICES)
	@MAILPIT=$(MAILPIT) bash scripts/with-mailpit.sh $(GO) run ./cmd/signoff dev

$(MAILPIT):
	GOBIN=$(CURDIR)/.dev/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

clean:
	rm -rf bin
