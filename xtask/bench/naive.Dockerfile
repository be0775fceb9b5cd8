# Not shipped: the yardstick `cargo xtask bench` times the project's Dockerfile against. It is
# the Dockerfile a project usually starts with: copy the sources, then one RUN that builds
# them in a fresh target directory. Any change to a source file reruns that RUN from nothing,
# dependencies included. The project's Dockerfile builds the same binary with the same
# command, but keeps cargo's registry and target directory in BuildKit cache mounts.
#
# The bench passes the same BUILDER_IMAGE and VENDOR_DIR as to the project's Dockerfile, and
# TARGET, the Rust target of the machine it runs on.

ARG BUILDER_IMAGE=rust:1.95.0-alpine
FROM ${BUILDER_IMAGE} AS builder

WORKDIR /src
COPY . .

ARG TARGET=x86_64-unknown-linux-musl
ARG VENDOR_DIR=
RUN set -eu; \
    if [ -n "$VENDOR_DIR" ]; then \
        set -- --offline \
            --config 'source.crates-io.replace-with="vendored-sources"' \
            --config "source.vendored-sources.directory=\"$VENDOR_DIR\""; \
    fi; \
    cargo build --release --locked --package hello --target "$TARGET" "$@"; \
    cp "target/$TARGET/release/hello" /hello

FROM scratch
COPY --from=builder /hello /hello
USER 65532:65532
ENTRYPOINT ["/hello"]
