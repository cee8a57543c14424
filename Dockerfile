# syntax=docker/dockerfile:1
#
# The Skirmish game server with its browser client, for Kubernetes with Agones
# (deploy/agones/, deploy/README.md) or any container runtime:
#
#   docker build -t skirmish:dev .
#   docker run --rm -p 7777:7777 -v skirmish-data:/data skirmish:dev
#
# Stage 1 builds the client the way `cargo xtask build-client` does (Trunk, the wasm-bindgen CLI
# matching Cargo.lock, npm's binaryen for wasm-opt: Debian's is too old for current rustc output)
# and the server with the `agones` feature (its SDK is compiled from .proto files: protoc).
# Stage 2 is a slim Debian with the binary, dist/ and assets/, run as a non-root user.

# Bookworm in both stages, so the binary links against the glibc it runs on.
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
# Keep these with xtask/src/tools.rs, Trunkfile.toml ([tools]) and Cargo.lock (wasm-bindgen).
ARG TRUNK_VERSION=0.21.14
ARG WASM_BINDGEN_VERSION=0.2.129
ARG BINARYEN_VERSION=132.0.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
# The tools come before the sources, so a source change does not rebuild them.
RUN cargo install --locked trunk --version "${TRUNK_VERSION}" \
    && cargo install --locked wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" \
    && rm -rf /usr/local/cargo/registry
RUN npm install --no-audit --no-fund --prefix /opt/binaryen "binaryen@${BINARYEN_VERSION}"
ENV PATH="/opt/binaryen/node_modules/.bin:${PATH}" \
    TRUNK_SKIP_VERSION_CHECK=true \
    CARGO_TERM_COLOR=never

WORKDIR /src
COPY . .
# The cargo registry and target/ are BuildKit caches (kept between builds, not in the image),
# so the binary is copied out of target/ in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    trunk build --release --config Trunkfile.toml \
    && cargo build --release --locked -p server --features agones --bin skirmish-server \
    && install -D -m 0755 target/release/skirmish-server /out/skirmish-server

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# CA roots for TLS to PostgreSQL or Redis; nothing else is linked dynamically beyond glibc.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric id, so Kubernetes' `runAsNonRoot` can check it.
RUN groupadd --system --gid 10001 skirmish \
    && useradd --system --uid 10001 --gid skirmish --home-dir /app --shell /usr/sbin/nologin skirmish \
    && install -d -o skirmish -g skirmish -m 0750 /data
WORKDIR /app
COPY --from=builder /out/skirmish-server /usr/local/bin/skirmish-server
COPY --from=builder /src/dist /app/dist
COPY --from=builder /src/assets /app/assets
# The SQLite database and the cookie-signing key live in the data dir (unless
# SKIRMISH_DATABASE_URL and SKIRMISH_SESSION_SECRET are set): a volume, writable by the user.
ENV SKIRMISH_DATA_DIR=/data \
    SKIRMISH_STATIC_DIR=/app/dist \
    SKIRMISH_MAP=/app/assets/maps/arena.json \
    RUST_LOG=info
VOLUME ["/data"]
USER 10001:10001
EXPOSE 7777/tcp
ENTRYPOINT ["/usr/local/bin/skirmish-server"]
CMD ["--bind", "0.0.0.0:7777"]
