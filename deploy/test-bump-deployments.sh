#!/usr/bin/env bash
# Offline test of deploy/bump-deployments.sh against two local git repositories: this one, and a temporary
# deployments repository (a bare "server" repository plus clones) seeded from kustomize/remote-example, whose
# overlays pull this repository's base by a file:// URL. Checks:
#   - DEPLOYMENTS_REPO unset or empty: nothing happens; bad input: clear errors, nothing pushed;
#   - a bump pins the base ?ref= and the image tag to this repository's HEAD in both overlays, in one
#     "[skip ci]" commit that changes exactly those lines; a second bump commits nothing;
#   - `kubectl kustomize` of each bumped overlay renders the base at exactly that commit (identical to the same
#     overlay over `git archive HEAD kustomize/base`), passes kubernetes-validate --strict, its NotionMcpRemotes
#     pass the CRD's schema, and its sync waves and image pin hold (delivery_checks.py overlay).
# Run by operator/ci/validate-delivery.sh, which provides the pinned tools on PATH and these variables:
#   PYTHON (with PyYAML), CR_SCHEMA (the CRD's openAPIV3Schema as JSON), K8S_VERSION; argument: a scratch dir.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
OUT="${1:?usage: test-bump-deployments.sh SCRATCH_DIR}"
rm -rf "$OUT" && mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
PY="${PYTHON:?PYTHON must name a Python with PyYAML}"
CR_SCHEMA="${CR_SCHEMA:?CR_SCHEMA must name the CRD schema JSON}"
K8S_VERSION="${K8S_VERSION:-1.33.0}"
for tool in git kubectl kubernetes-validate check-jsonschema; do
  command -v "$tool" >/dev/null || { echo "gitops: $tool not found (run through operator/ci/validate-delivery.sh)" >&2; exit 1; }
done
EXAMPLE_BASE=https://github.com/notion-mcp-remote/notion-mcp-remote//kustomize/base
FILE_BASE="file://$ROOT//kustomize/base"
OVERLAYS="notion-mcp-remote/prod notion-mcp-remote/dev"
IMAGE_REPO=harbor.example.com/notion-mcp/notion-mcp-remote
HEAD="$(git rev-parse HEAD)"
pass=0
ok() {
  pass=$((pass + 1))
  echo "gitops: ok: $*"
}
fail() {
  echo "gitops: FAILED: $*" >&2
  exit 1
}

echo "gitops: unit tests of deploy/pin_overlay.py"
"$PY" deploy/test_pin_overlay.py 2>&1 | tail -n 1

# The deployments repository: a bare repository as the server, seeded with the example whose base URL points at
# this repository by file:// (a test fixture edit of the exact example URL), pinned to another commit (zeros).
git init --quiet --bare --initial-branch=main "$OUT/deployments.git"
git clone --quiet "$OUT/deployments.git" "$OUT/seed" 2>/dev/null
cp -R kustomize/remote-example/. "$OUT/seed/"
"$PY" - "$OUT/seed" "$EXAMPLE_BASE" "$FILE_BASE" $OVERLAYS <<'PY'
import sys
sys.path.insert(0, "deploy")
import pin_overlay
seed, old, new, *overlays = sys.argv[1:]
for overlay in overlays:
    path = f"{seed}/{overlay}/kustomization.yaml"
    text = open(path).read()
    assert text.count(f"- {old}?ref=") == 1, path
    text = text.replace(f"- {old}?ref=", f"- {new}?ref=")
    zeros = "0" * 40
    open(path, "w").write(pin_overlay.pin(text, new, zeros, "ghcr.io/notion-mcp-remote/notion-mcp-remote", zeros))
PY
git -C "$OUT/seed" add -A
git -C "$OUT/seed" -c user.name=test -c user.email=test@example.invalid commit --quiet -m "deployments: notion-mcp-remote"
git -C "$OUT/seed" push --quiet origin HEAD:main
tip() { git -C "$OUT/deployments.git" rev-parse main; }
seeded="$(tip)"

bump() {
  env DEPLOYMENTS_REPO="file://$OUT/deployments.git" DEPLOYMENTS_OVERLAYS="$OVERLAYS" \
    DEPLOYMENTS_BASE_URL="$FILE_BASE" DEPLOYMENTS_IMAGE_REPO="$IMAGE_REPO" PYTHON="$PY" "$@"
}

# 1. Unset or empty variable: nothing happens (not even argument checks).
out="$(env -u DEPLOYMENTS_REPO bash deploy/bump-deployments.sh)" && [[ "$out" == *"nothing to do"* ]] ||
  fail "DEPLOYMENTS_REPO unset: expected a no-op, got: $out"
out="$(DEPLOYMENTS_REPO="" bash deploy/bump-deployments.sh "$HEAD")" && [[ "$out" == *"nothing to do"* ]] ||
  fail "DEPLOYMENTS_REPO empty: expected a no-op, got: $out"
[ "$(tip)" = "$seeded" ] || fail "the no-op runs changed the deployments repository"
ok "DEPLOYMENTS_REPO unset or empty: nothing happens"

# 2. Bad input: a clear error, nothing pushed.
expect_error() {
  local message="$1"
  shift
  if out="$("$@" 2>&1)"; then fail "expected an error ($message), the run succeeded: $out"; fi
  [[ "$out" == *"$message"* ]] || fail "expected the error '$message', got: $out"
}
expect_error "not a full 40-character" bump bash deploy/bump-deployments.sh "${HEAD:0:12}"
expect_error "usage:" bump bash deploy/bump-deployments.sh
expect_error "DEPLOYMENTS_OVERLAYS is empty" bump DEPLOYMENTS_OVERLAYS=" " bash deploy/bump-deployments.sh "$HEAD"
expect_error "must be a relative path" bump DEPLOYMENTS_OVERLAYS="../x" bash deploy/bump-deployments.sh "$HEAD"
expect_error "has no kustomization.yaml" bump DEPLOYMENTS_OVERLAYS="notion-mcp-remote/staging" \
  bash deploy/bump-deployments.sh "$HEAD"
expect_error "expected exactly one resource" bump DEPLOYMENTS_BASE_URL="$FILE_BASE-elsewhere" \
  bash deploy/bump-deployments.sh "$HEAD"
expect_error "cannot clone branch nope" bump DEPLOYMENTS_BRANCH=nope bash deploy/bump-deployments.sh "$HEAD"
expect_error "DEPLOYMENTS_TOKEN is empty" bump DEPLOYMENTS_REPO=https://git.example.invalid/deployments.git \
  DEPLOYMENTS_TOKEN="" bash deploy/bump-deployments.sh "$HEAD"
expect_error "carries credentials" bump DEPLOYMENTS_REPO=https://bot:secret@git.example.invalid/d.git \
  bash deploy/bump-deployments.sh "$HEAD"
[ "$(tip)" = "$seeded" ] || fail "a refused run changed the deployments repository"
ok "bad input: clear errors, nothing pushed"

# 3. The bump: one [skip ci] commit, exactly the ref and the tag lines of both overlays.
bump bash deploy/bump-deployments.sh "$HEAD"
bumped="$(tip)"
[ "$bumped" != "$seeded" ] || fail "the bump pushed nothing"
[ "$(git -C "$OUT/deployments.git" rev-parse "$bumped^")" = "$seeded" ] || fail "expected exactly one new commit"
subject="$(git -C "$OUT/deployments.git" log -1 --format=%s "$bumped")"
[[ "$subject" == *"[skip ci]" ]] || fail "commit subject lacks [skip ci]: $subject"
changed="$(git -C "$OUT/deployments.git" diff --numstat "$seeded" "$bumped" | sort)"
expected="$(printf '2\t2\t%s/kustomization.yaml\n' $OVERLAYS | sort)"
[ "$changed" = "$expected" ] || fail "expected 2 lines changed in each kustomization.yaml, got:\n$changed"
for overlay in $OVERLAYS; do
  diff="$(git -C "$OUT/deployments.git" diff -U0 "$seeded" "$bumped" -- "$overlay/kustomization.yaml" | grep '^+[^+]')"
  [[ "$diff" == *"- $FILE_BASE?ref=$HEAD"* && "$diff" == *"newTag: \"$HEAD\""* ]] ||
    fail "$overlay: unexpected change:\n$diff"
done
ok "bump: one commit '$subject' changing only the ref and the tag"

# 4. Idempotent: a second run commits nothing.
out="$(bump bash deploy/bump-deployments.sh "$HEAD")"
[[ "$out" == *"nothing to commit"* && "$(tip)" = "$bumped" ]] || fail "second run was not a no-op: $out"
ok "second bump: nothing to commit"

# 5. The bumped overlays render the base at exactly HEAD, and validate like the in-repo overlays.
git clone --quiet "$OUT/deployments.git" "$OUT/check" 2>/dev/null
mkdir -p "$OUT/at-head"
git archive "$HEAD" kustomize/base | tar -x -C "$OUT/at-head"
for overlay in $OVERLAYS; do
  name="$(basename "$overlay")"
  kubectl kustomize "$OUT/check/$overlay" >"$OUT/remote-$name.yaml"
  # Reference: the same overlay over the base as committed at HEAD (a local directory).
  mkdir -p "$OUT/at-head/$overlay"
  cp -R "$OUT/check/$overlay/." "$OUT/at-head/$overlay/"
  "$PY" - "$OUT/at-head/$overlay/kustomization.yaml" "$FILE_BASE?ref=$HEAD" "$OUT/at-head/kustomize/base" <<'PY'
import os, sys
path, remote, local = sys.argv[1:]
local = os.path.relpath(local, os.path.dirname(path))
text = open(path).read()
assert text.count(f"- {remote}\n") == 1, path
open(path, "w").write(text.replace(f"- {remote}\n", f"- {local}\n"))
PY
  kubectl kustomize "$OUT/at-head/$overlay" >"$OUT/reference-$name.yaml"
  cmp -s "$OUT/remote-$name.yaml" "$OUT/reference-$name.yaml" ||
    fail "$overlay renders differently from the base at $HEAD: diff $OUT/remote-$name.yaml $OUT/reference-$name.yaml"
  summary="$("$PY" operator/ci/delivery_checks.py overlay "$OUT/remote-$name.yaml")"
  [[ "$summary" == *"operator $IMAGE_REPO:$HEAD,"* ]] || fail "$overlay: operator image is not $IMAGE_REPO:$HEAD: $summary"
  "$PY" operator/ci/delivery_checks.py split "$OUT/remote-$name.yaml" "$OUT/remote-$name-crs.yaml" >/dev/null
  check-jsonschema --schemafile "$CR_SCHEMA" "$OUT/remote-$name-crs.yaml" >/dev/null
  kubernetes-validate --strict --quiet --no-warn -k "$K8S_VERSION" "$OUT/remote-$name.yaml"
  ok "$overlay renders the base at ${HEAD:0:12} exactly; kubernetes-validate, CR schema, sync waves, image pin"
done

echo "gitops: $pass passed, 0 failed"
