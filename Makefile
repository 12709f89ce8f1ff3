# hab: build, test, demo and benchmarks. See README.md.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/hab

.PHONY: all build test test-short vet demo bench clean man

all: build

# One static binary.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hab

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The whole test suite. Root-only tests (mounts, namespaces) run when this is
# run as root, as CI does, and say why they skip otherwise. Packages run one
# at a time (-p 1): several tests compare the host's mount table before and
# after a studio, and others time themselves against limits, so a test of
# another package mounting a tmpfs or loading both cores at the same moment
# would make them fail for nothing. (vet has compiled everything in parallel
# already.)
test: vet build
	CGO_ENABLED=0 $(GO) test -count=1 -p 1 -timeout 45m ./...

test-short:
	$(GO) test -short ./...

# The main job: see README.md.
demo: build
	./scripts/demo.sh

bench: build
	./bench/run.sh

# Man pages of every command, generated from the command tree (cobra/doc)
# into man/ (man -l man/hab-pkg-install.1). docs/cli.md is the same
# reference as one page, kept in sync by a test.
man:
	rm -rf man
	HAB_MAN_DIR=man $(GO) test -count=1 -run '^TestManPages$$' ./cmd/hab

clean:
	rm -rf bin .hab-demo man
