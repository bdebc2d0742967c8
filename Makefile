# Backstop — every target the README names is here. `make` lists them.
SHELL := /bin/bash
GO    ?= go
PKGS  := ./...
export BACKSTOP_REQUIRE_DB := 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: run
# Built, then exec'd rather than `go run`: go run exits 1 whenever it gets
# the terminal's SIGINT, however cleanly the program then stops, so every
# Ctrl-C ended in "make: *** Error 1".
run: ## start Backstop with its built-in defaults (private PostgreSQL, simulated Virtuous)
	$(GO) build -o bin/backstop ./cmd/backstop
	exec bin/backstop demo

.PHONY: build
build: generate ## build bin/backstop
	$(GO) build -o bin/backstop ./cmd/backstop

.PHONY: test
test: ## run every test against a real PostgreSQL (and Chromium, when installed)
	$(GO) test -count=1 -timeout 30m $(PKGS)

# The fault suite: the packages with faults-tagged tests, the web app's
# security tests, and the fuzz targets, as package:Target, each run for
# FUZZTIME. A count of inputs, not a duration: with a duration, Go 1.26's
# fuzzing coordinator can report its own deadline as a failure when a
# worker is busy as time runs out (golang/go#75804, fixed in Go 1.27),
# which it did here once under load, with no failing input.
FAULT_PKGS   := ./internal/faults/ ./internal/inbound/
FUZZ_TARGETS := ./internal/virtuous:FuzzParseWebhook ./internal/virtuous:FuzzVerifySignature \
                ./internal/virtuous:FuzzErrorBody ./internal/record:FuzzParseIntake ./internal/money:FuzzParseMinor \
                ./internal/audit:FuzzCSVCell ./internal/jsonscan:FuzzScanner
FUZZTIME     ?= 150000x
# The dashboard's security tests, run again here: who may see what, CSRF,
# XSS, and the sign-in throttle under 1,000 attempts at once.
SECURITY_TESTS := ^(TestAuthorizationMatrix|TestCSRF.*|TestXSS.*|TestSearchMetacharacters|TestSignInThrottleUnderRapidAttempts)$$

.PHONY: test-faults
test-faults: ## run the fault-injection suite and the fuzz targets (slow; see README, Reliability)
	$(GO) test -tags faults -count=1 -timeout 30m $(FAULT_PKGS)
	$(GO) test -count=1 -run '$(SECURITY_TESTS)' ./web/
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t##*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

.PHONY: generate
generate: ## regenerate templ components
	$(GO) tool templ generate

.PHONY: lint
lint: ## gofmt, go vet, staticcheck, and a stale-templ check
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags faults $(FAULT_PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) tool staticcheck -tags faults $(FAULT_PKGS)
	$(GO) tool templ generate -check

.PHONY: bench
bench: ## run the benchmark suite (see README, Performance)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m $(PKGS)

.PHONY: screenshots
screenshots: ## refresh the README's screenshots from the browser tests (needs Chromium)
	$(GO) test -count=1 -run '^TestBrowserReports$$' ./web
	cp testdata/artifacts/TestBrowserReports/*-needs-review-queue.png static/screenshots/needs-review-queue.png
	cp testdata/artifacts/TestBrowserReports/*-report-day.png static/screenshots/report-day.png

.PHONY: clean-data
clean-data: ## delete the private database and generated key under .data
	rm -rf .data
