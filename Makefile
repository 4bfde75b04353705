# flyte-entrypoint
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     ?= bin/flyte-entrypoint
TAGS    := urfave_cli_no_docs
LDFLAGS := -s -w -X github.com/flyte-entrypoint/flyte-entrypoint/internal/version.Version=$(VERSION)
GO      ?= go
IMAGE   ?= flyte-entrypoint:$(VERSION)

.PHONY: build test lint bench image image-example demo fuzz

build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/flyte-entrypoint

# The default suite: unit tables, fuzz seed corpora, the end-to-end suite
# (real binary, real processes, a chroot as the scratch image), the PID 1
# tests in a PID namespace, and the Kubernetes tests against a real etcd and
# kube-apiserver, which scripts/test.sh installs or builds first (the first
# kube-apiserver build takes 11-20 minutes; then it is cached under
# ~/.cache). Tests that need root skip without it.
test:
	./scripts/test.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./bench/startup.sh
	./bench/instructions.sh

# Fuzz every parser of outside input for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The shim's own image (FROM scratch; /flyte-entrypoint): what a task
# image's `COPY --from=flyte-entrypoint:latest` takes the binary from.
image:
	docker build --target flyte-entrypoint --build-arg VERSION=$(VERSION) -t $(IMAGE) -t flyte-entrypoint:latest .

# An example task image with the shim as its ENTRYPOINT.
EXAMPLE_IMAGE ?= flyte-entrypoint-example:$(VERSION)
image-example:
	docker build --target example-task --build-arg VERSION=$(VERSION) -t $(EXAMPLE_IMAGE) .

# The main job on the embedded default: no root, no cluster.
demo: build
	./scripts/demo.sh $(BIN)
