# The shipped image: `hello` compiled from source, then copied alone into an empty image.
#
#   docker build --tag hello .                           # for this machine's architecture
#   docker build --platform linux/arm64 --tag hello:arm64 .
#   docker run --rm hello
#
# BuildKit is needed (the default builder from Docker 23.0 on; with an older client, set
# DOCKER_BUILDKIT=1). `cargo xtask dist` builds this same file with the network off: it
# vendors the crates into target/vendor and passes VENDOR_DIR, and `--builder-image` takes a
# builder image made without any registry (`cargo xtask builder-image`).
#
# Build arguments:
#   BUILDER_IMAGE    an image with Rust in the official image's layout (cargo and rustc on
#                    PATH, CARGO_HOME=/usr/local/cargo); the default is pinned to the release
#                    that rust-toolchain.toml names, so that both builds use the same compiler
#   VENDOR_DIR       vendored crates inside the build context; set, the build is offline
#   CA_CERTIFICATES  `true` adds the builder's CA bundle at /etc/ssl/certs/ca-certificates.crt,
#                    which a program that speaks TLS needs to check certificates; off by
#                    default, since hello makes no connections and the bundle is ~200 KiB

ARG BUILDER_IMAGE=rust:1.95.0-alpine

# The builder runs on the build machine's own platform and cross-compiles for the target's,
# so an arm64 image builds at native speed on x86_64 (and the reverse), with no emulator.
FROM --platform=$BUILDPLATFORM ${BUILDER_IMAGE} AS builder

# The image's only user: not root, and numeric, so that a runtime can tell it is not root
# without reading /etc/passwd. 65532 is the conventional "nonroot" of distroless images.
RUN mkdir -p /out/etc \
    && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >/out/etc/passwd \
    && echo 'nonroot:x:65532:' >/out/etc/group

ARG CA_CERTIFICATES=false
RUN if [ "$CA_CERTIFICATES" = true ]; then \
        mkdir -p /out/etc/ssl/certs \
        && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    fi

# The context is what .dockerignore allows: the workspace's manifests, hello's sources, and
# target/vendor when it exists. Cargo loads every member of the workspace, so xtask, which is
# not built here, gets an empty stand-in for its sources.
# rust-toolchain.toml is left out on purpose: the builder image's toolchain is the one used,
# and rustup would otherwise try to download the components the file lists.
WORKDIR /src
COPY . .

# The registry and the compiled dependencies are kept between builds in cache mounts. The
# target directory lives outside /src because the context's target/vendor is there. That
# cache is shared by every build on the daemon, from any checkout, and cargo judges the
# workspace's own crates fresh by their files' mtimes, which COPY keeps: a source older than
# the last build's output would pass for built. So the sources are touched first, and the
# workspace always compiles here (this step only runs when the context changed); the
# dependencies, keyed by their versions, stay cached.
ARG TARGETARCH
ARG VENDOR_DIR=
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/cargo-target,sharing=locked \
    set -eu; \
    if ! command -v cargo >/dev/null; then \
        echo "BUILDER_IMAGE has no cargo on PATH: it needs Rust, as in the official image" >&2; \
        exit 1; \
    fi; \
    case "$TARGETARCH" in \
        amd64) triple=x86_64-unknown-linux-musl ;; \
        arm64) triple=aarch64-unknown-linux-musl ;; \
        *) echo "no Rust target for TARGETARCH=$TARGETARCH; use linux/amd64 or linux/arm64" >&2; \
           exit 1 ;; \
    esac; \
    if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$triple" ]; then \
        rustup target add "$triple"; \
    fi; \
    if [ ! -e xtask/src/main.rs ]; then mkdir -p xtask/src && : >xtask/src/main.rs; fi; \
    find . -path ./target -prune -o -type f -exec touch {} +; \
    if [ -n "$VENDOR_DIR" ]; then \
        set -- --offline \
            --config 'source.crates-io.replace-with="vendored-sources"' \
            --config "source.vendored-sources.directory=\"$VENDOR_DIR\""; \
    fi; \
    cargo build --release --locked --package hello --target "$triple" \
        --target-dir /cargo-target "$@"; \
    cp "/cargo-target/$triple/release/hello" /out/hello

# What ships: the static binary and the files that name its user. No shell, no libc, no
# package manager; `docker run --read-only --cap-drop=ALL` takes nothing it needs.
FROM scratch
COPY --from=builder /out/ /
USER 65532:65532
ENTRYPOINT ["/hello"]
LABEL org.opencontainers.image.title="hello" \
      org.opencontainers.image.description="A static Rust binary alone in a FROM scratch image" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
