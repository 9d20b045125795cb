# syntax=docker/dockerfile:1
# The peerlab image: `peerlab node`, one Rafiki-compatible instance configured only by Rafiki's
# environment variables (README, "Running one instance"; "Containers, clusters and several
# hosts" for compose and Kubernetes). Build and run:
#   docker build -t peerlab:latest .
#   docker run --rm -e ILP_ADDRESS=test.peerlab -p 3001:3001 -p 3002:3002 peerlab:latest

# The builder: the toolchain peerlab is developed with, pinned by its tag.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY . .
# Crates and build artefacts live in cache mounts, so a rebuild after a change to peerlab
# compiles peerlab, not its dependencies again. A cache mount is not part of the image: the
# binary is copied out of it in the same step. No debug information (the workspace keeps some in
# release builds, for profiling): the image only runs it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    cargo build --release --locked -p peerlab-simulator --bin peerlab \
    && cp target/release/peerlab /usr/local/bin/peerlab

# The runtime: Debian with no compilers, and no ca-certificates either: peerlab's only HTTPS
# client (the runner's, for targets served over HTTPS) trusts the Mozilla roots compiled into it
# (webpki-roots), and `peerlab node` itself makes plain HTTP calls only.
FROM debian:bookworm-slim AS runtime
RUN groupadd --gid 10001 peerlab \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin peerlab
COPY --from=builder /usr/local/bin/peerlab /usr/local/bin/peerlab
# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 10001:10001
# In a container an instance is reached from outside it: every interface.
ENV BIND_ADDRESS=0.0.0.0
# Admin (GraphQL, /healthz), connector (ILP-over-HTTP), Open Payments, auto-peering.
EXPOSE 3001 3002 3003 3005
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["peerlab", "healthcheck"]
ENTRYPOINT ["peerlab"]
CMD ["node"]
