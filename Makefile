# hab: build, test, demo and benchmarks. See README.md.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/hab

.PHONY: all build test test-short vet demo bench clean

all: build

# One static binary.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hab

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The whole test suite. Root-only tests (mounts, namespaces) run when this is
# run as root, as CI does, and say why they skip otherwise.
test: vet build
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short ./...

# The main job: see README.md.
demo: build
	./scripts/demo.sh

bench: build
	./bench/run.sh

clean:
	rm -rf bin .hab-demo
