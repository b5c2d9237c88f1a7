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

demo: build
	@sh scripts/demo.sh $(BIN)

clean:
	rm -rf bin dist
