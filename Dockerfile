# syntax=docker/dockerfile:1
# One image, both binaries (glibc, distroless, non-root):
#   /usr/local/bin/notion-mcp-remote    the MCP server (entrypoint; what the operator's Deployments run)
#   /usr/local/bin/notion-mcp-operator  the operator (its Deployment sets `command`)
# Dependencies are compiled in their own layer (cargo-chef), so a source-only change rebuilds just the
# workspace crates. Build: docker buildx build -t <registry>/<project>/notion-mcp-remote:<tag> .

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78 \
    && rm -rf /usr/local/cargo/registry
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# The production server leaves out the `demo` command and its embedded Notion fake (--no-default-features).
RUN cargo chef cook --release --locked --recipe-path recipe.json --no-default-features \
    -p notion-mcp-remote -p notion-mcp-operator
COPY . .
RUN cargo build --release --locked --no-default-features \
    -p notion-mcp-remote --bin notion-mcp-remote \
    -p notion-mcp-operator --bin notion-mcp-operator

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="notion-mcp-remote" \
      org.opencontainers.image.description="Remote MCP server for Notion, and its Kubernetes operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /src/target/release/notion-mcp-remote /src/target/release/notion-mcp-operator /usr/local/bin/
USER 65532:65532
ENV NOTION_MCP_LISTEN=0.0.0.0:8080
# mimalloc: a thread that exits returns its free memory at once. tantivy starts a new indexing thread for
# each commit of the content index; without this, what each one freed stays resident with its abandoned
# heap (about 15 MB at idle). No cost per request (docs/benchmarks.md, "The allocator").
ENV MIMALLOC_ABANDONED_PAGE_PURGE=1
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/notion-mcp-remote"]
