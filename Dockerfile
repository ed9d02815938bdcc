# One image per binary, built in one stage and copied onto a distroless, non-root base:
#   docker build --target gardener-extension-provider-metal -t ... .
#   docker build --target gardener-extension-admission-metal -t ... .
#   docker build --target machine-controller-manager-provider-metal -t ... .

FROM golang:1.26.8 AS builder
WORKDIR /go/src/github.com/openkcm/gardener-extension-provider-metal
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG EFFECTIVE_VERSION
RUN mkdir -p /out && \
    for b in gardener-extension-provider-metal gardener-extension-admission-metal machine-controller-manager-provider-metal; do \
      CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/gardener/gardener/pkg/version.gitVersion=${EFFECTIVE_VERSION:-$(cat VERSION)}" \
        -o /out/$b ./cmd/$b || exit 1; \
    done

FROM gcr.io/distroless/static-debian12:nonroot AS base
WORKDIR /

FROM base AS gardener-extension-provider-metal
COPY --from=builder /out/gardener-extension-provider-metal /gardener-extension-provider-metal
ENTRYPOINT ["/gardener-extension-provider-metal"]

FROM base AS gardener-extension-admission-metal
COPY --from=builder /out/gardener-extension-admission-metal /gardener-extension-admission-metal
ENTRYPOINT ["/gardener-extension-admission-metal"]

FROM base AS machine-controller-manager-provider-metal
COPY --from=builder /out/machine-controller-manager-provider-metal /machine-controller-manager-provider-metal
ENTRYPOINT ["/machine-controller-manager-provider-metal"]
