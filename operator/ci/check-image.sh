#!/usr/bin/env bash
# Proves the Dockerfile without a registry or a container engine:
#   1. the build context is assembled as .dockerignore leaves it (Docker's ignore rules, reproduced from
#      moby/patternmatcher and tested in test_image_check.py) and every COPY/ADD source is in it;
#   2. the stages are replayed in a copy of that context with the local toolchain: cargo-chef installed at the
#      Dockerfile's pinned version, `cargo chef prepare`, `cargo chef cook` and the release build of both
#      binaries, exactly as the Dockerfile writes them (operator/ci/image_check.py);
#   3. the final stage's ENTRYPOINT and the operator Deployment's command are executables of what it copies,
#      need only libraries (and a glibc) its base image has, and answer --help as the image's USER;
#   4. with a container engine (docker or podman), the image is built for real and both binaries answer --help
#      as the non-root user with a read-only root filesystem; without one this part is skipped.
#
# Usage: bash operator/ci/check-image.sh [--sources-only]
#   --sources-only  step 1 only: the context and the COPY/ADD sources (seconds, nothing built; run by .ci/run
#                   through validate-delivery.sh)
# The release build goes to target/image-check/stages/builder/src/target (CARGO_TARGET_DIR is ignored for it, as
# in the image) and is kept between runs: cargo-chef's cooked dependencies are reused, the workspace crates are
# rebuilt every time. Cold it costs a full release build of the workspace (docs/deploy.md, "The image").
# Tools (pinned) in a venv under target/: dockerfile-parse 2.0.1, PyYAML 6.0.2; cargo-chef at the Dockerfile's
# version in target/image-check/tools.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/image-check-venv"
WORK="$TARGET/image-check"
SOURCES_ONLY=()
case "${1:-}" in
  "") ;;
  --sources-only) SOURCES_ONLY=(--sources-only) ;;
  *)
    echo "usage: bash operator/ci/check-image.sh [--sources-only]" >&2
    exit 2
    ;;
esac
if [ ${#SOURCES_ONLY[@]} -gt 0 ]; then
  WORK="$TARGET/image-check-sources"
fi
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock -n 9 || {
  echo "image: another check-image.sh is using $WORK" >&2
  exit 1
}
started=$SECONDS

if ! "$VENV/bin/python" -c 'import dockerfile_parse, yaml' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check dockerfile-parse==2.0.1 PyYAML==6.0.2
fi
PY="$VENV/bin/python"

echo "image: unit tests of the context and Dockerfile handling"
"$PY" operator/ci/test_image_check.py

rust_version="$(sed -n 's/^ARG RUST_VERSION=//p' Dockerfile)"
local_version="$(rustc --version | awk '{print $2}')"
if [ "$rust_version" != "$local_version" ]; then
  echo "image: note: the Dockerfile builds with Rust $rust_version, this machine has $local_version"
fi

"$PY" operator/ci/image_check.py check . "$WORK" --exec-from kustomize/base/deployment.yaml ${SOURCES_ONLY[@]+"${SOURCES_ONLY[@]}"}
echo "image: replay done in $((SECONDS - started)) s"

engine=""
for candidate in docker podman; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
    engine="$candidate"
    break
  fi
done
if [ ${#SOURCES_ONLY[@]} -gt 0 ]; then
  echo "image: --sources-only: nothing built (the full check: bash operator/ci/check-image.sh)"
elif [ -z "$engine" ]; then
  echo "image: SKIPPED the real image build: no container engine answers (docker info, podman info); Woodpecker builds the image"
else
  tag="notion-mcp-remote:image-check"
  echo "image: $engine build -t $tag ."
  "$engine" build -t "$tag" .
  for bin in notion-mcp-remote notion-mcp-operator; do
    echo "image: $bin --help as 65532:65532, read-only root filesystem"
    "$engine" run --rm --read-only --user 65532:65532 --entrypoint "/usr/local/bin/$bin" "$tag" --help >/dev/null
  done
fi
echo "image: OK in $((SECONDS - started)) s"
