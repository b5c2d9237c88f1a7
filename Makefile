# kapture-bulk: make demo, make test, make build, make bench, make release,
# make check-deploy, make image.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN     := bin/kapture-bulk

.PHONY: all build test test-long lint demo bench release check-release check-deploy image clean

# staticcheck, pinned; go run fetches it through the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kapture-bulk

# test: what CI runs, in about two minutes: -short leaves out the memory
# bounds (make bench shows them), the rate tests in real time and the
# largest inputs, and plays fewer model histories (fixed seeds, and one
# from the clock). test-long runs all of it, with more histories.
test: lint
	$(GO) test -short -race -count=1 ./...

test-long: lint
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt would change the files above"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run ./internal/tools/shape

# make bench: the Go benchmarks (medians: -count 3), then the end-to-end
# benchmark of the built binary against the fake API (and, when python3 is
# there, of bench/e2e/py_bulk.py), which prints each target with its
# measured value and pass or miss: about 25 minutes. make bench QUICK=1 is
# a smoke test of the harness in a few minutes. See BENCHMARKS.md.
BENCH_COUNT ?= 3
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(if $(QUICK),-count 1 -benchtime 100ms,-count $(BENCH_COUNT)) ./reader ./writer ./batch ./bench
	$(GO) run ./bench/e2e -bin $(BIN) $(if $(QUICK),-quick) $(BENCH_FLAGS)

demo: build
	@sh scripts/demo.sh $(BIN)

# release: static binaries for every platform into dist/, named
# kapture-bulk-VERSION-OS-ARCH[.exe]; the man page kapture-bulk.1 made
# from the help; a .deb and an .rpm per Linux binary (binary, man page,
# deploy/'s nightly wrapper and systemd units), built by nfpm, pinned
# and run through the module proxy like staticcheck; and SHA256SUMS of
# every file in dist/. make check-release checks them.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0

release: build
	rm -rf dist
	mkdir -p dist
	@set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; \
		if [ "$$os" = windows ]; then ext=.exe; fi; \
		out=dist/kapture-bulk-$(VERSION)-$$os-$$arch$$ext; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/kapture-bulk; \
	done
	$(GO) run ./scripts/genman -bin $(BIN) -date $(firstword $(subst T, ,$(DATE))) -o dist/kapture-bulk.1
	NFPM='$(GO) run $(NFPM)' sh scripts/packages.sh '$(VERSION)'
	@cd dist && files=$$(ls | grep -v '^SHA256SUMS$$') && \
		if command -v sha256sum >/dev/null 2>&1; then sha256sum $$files; \
		elif command -v shasum >/dev/null 2>&1; then shasum -a 256 $$files; \
		else openssl dgst -sha256 -r $$files | sed 's/ \*/  /'; fi > SHA256SUMS
	@cat dist/SHA256SUMS

# check-release: what make release left in dist/ holds what it should.
check-release:
	sh scripts/check-release.sh '$(VERSION)'

# check-deploy: deploy/'s files against the real tools (shellcheck,
# systemd-analyze, mandoc) and the Kubernetes objects against the API
# types (deploy/k8scheck, a module of its own). .ci/run installs the tools.
check-deploy: build
	sh scripts/check-deploy.sh $(BIN)

# image: the container image (Dockerfile at the root), stamped as build is.
IMAGE ?= kapture-bulk:$(VERSION)
image:
	docker build -t $(IMAGE) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) .

clean:
	rm -rf bin dist
