# syntax=docker/dockerfile:1
#
# Signoff's image: a static binary (no cgo) on distroless, as a non-root
# user. Build:  docker build -t signoff .
# Run:          docker run -p 8080:8080 --env-file signoff.env signoff
# The templates and migrations are embedded in the binary; configuration
# comes from SIGNOFF_* environment variables (secrets) or a mounted file
# named by SIGNOFF_CONFIG. cmd/signoff/deploy_test.go checks this file, and
# .ci/run builds the binary with the same flags.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/signoff ./cmd/signoff

FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/signoff /signoff
# distroless's "nonroot" user, uid 65532.
USER 65532:65532
# Inside a container, listen on every interface (the default is loopback).
ENV SIGNOFF_HTTP_ADDR=0.0.0.0:8080 \
    SIGNOFF_LOG_FORMAT=json
EXPOSE 8080
# Probe GET /healthz (liveness) and GET /readyz (readiness) from the
# orchestrator: the image has no shell or curl for a HEALTHCHECK.
ENTRYPOINT ["/signoff", "serve"]
