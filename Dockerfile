# syntax=docker/dockerfile:1
#
# kapture-bulk in a container: a static binary on distroless/static (no
# shell, no libc), run as its non-root user (uid 65532), the binary as the
# entrypoint. Mount the input, results and summary on a volume the user
# can write, and the token as a file (--token-file).
#
#   docker build -t kapture-bulk:dev \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm kapture-bulk:dev version
#
# The build stage runs on the builder's own platform and cross-compiles
# for the target one (docker buildx build --platform linux/arm64 ...).
# make image builds it with the Makefile's version stamps; the CronJobs of
# deploy/kubernetes run it.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# The modules first: this layer is cached while only the code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
# As the Makefile's build: static, paths trimmed, version stamped.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/kapture-bulk ./cmd/kapture-bulk

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kapture-bulk /usr/local/bin/kapture-bulk
USER nonroot:nonroot
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/kapture-bulk"]
CMD ["--help"]
