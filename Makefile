# kapture-bulk: make demo, make test, make build, make bench, make release.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN     := bin/kapture-bulk

.PHONY: all build test demo bench release clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kapture-bulk

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# make bench: the Go benchmarks (medians: -count 3), then the end-to-end
# benchmark of the built binary against the fake API. make bench QUICK=1
# is a smoke test of the harness in about a minute. See BENCHMARKS.md.
BENCH_COUNT ?= 3
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(if $(QUICK),-count 1 -benchtime 100ms,-count $(BENCH_COUNT)) ./reader ./writer ./batch ./bench
	$(GO) run ./bench/e2e -bin $(BIN) $(if $(QUICK),-quick) $(BENCH_FLAGS)

demo: build
	@sh scripts/demo.sh $(BIN)

clean:
	rm -rf bin dist
