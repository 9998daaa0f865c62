#!/usr/bin/env bash
# Pins notion-mcp-remote to one commit in the overlays of a separate deployments repository: the remote base's
# ?ref= and the image tag (deploy/pin_overlay.py: a parsed, in-place edit, the image entry set as
# `kustomize edit set image` would), then commits "[skip ci]" and pushes. Run by the Woodpecker step
# `deployments` after the image is pushed; see docs/deploy.md, "A separate deployments repository".
#
# Usage: deploy/bump-deployments.sh COMMIT        (the full 40-character SHA the image was built from)
#
# Environment:
#   DEPLOYMENTS_REPO        clone URL of the deployments repository (https://, ssh, file:// or a path).
#                           Unset or empty: print a line and do nothing.
#   DEPLOYMENTS_OVERLAYS    overlay directories in it, separated by spaces (required with DEPLOYMENTS_REPO)
#   DEPLOYMENTS_BRANCH      branch to update (default: main)
#   DEPLOYMENTS_TOKEN       token for an http(s) URL, sent as HTTP basic auth with DEPLOYMENTS_USERNAME through
#                           git's environment config (never in the URL, the command line or the log)
#   DEPLOYMENTS_USERNAME    user name for the token (default: git)
#   DEPLOYMENTS_BASE_URL    the remote base to pin, without ?ref=
#                           (default: https://github.com/notion-mcp-remote/notion-mcp-remote//kustomize/base)
#   DEPLOYMENTS_IMAGE       the image name the base uses (default: ghcr.io/notion-mcp-remote/notion-mcp-remote)
#   DEPLOYMENTS_IMAGE_REPO  where the pipeline pushed the image; also sets newName (optional)
#   PYTHON                  a Python 3 with PyYAML (default: python3)
#
# Idempotent: when every overlay already pins COMMIT there is nothing to commit and nothing is pushed. A push
# that loses a race with another commit is retried (fresh clone, same edit) up to 3 times.
set -euo pipefail

say() { echo "bump-deployments: $*"; }
die() {
  echo "bump-deployments: error: $*" >&2
  exit 1
}

if [ -z "${DEPLOYMENTS_REPO:-}" ]; then
  say "DEPLOYMENTS_REPO is not set: no deployments repository to bump, nothing to do"
  exit 0
fi

[ $# -eq 1 ] || die "usage: $0 COMMIT (the full commit SHA to pin)"
commit="$1"
[[ "$commit" =~ ^[0-9a-f]{40}$ ]] || die "COMMIT '$commit' is not a full 40-character lowercase commit SHA"
repo="$DEPLOYMENTS_REPO"
branch="${DEPLOYMENTS_BRANCH:-main}"
base_url="${DEPLOYMENTS_BASE_URL:-https://github.com/notion-mcp-remote/notion-mcp-remote//kustomize/base}"
image="${DEPLOYMENTS_IMAGE:-ghcr.io/notion-mcp-remote/notion-mcp-remote}"
image_repo="${DEPLOYMENTS_IMAGE_REPO:-}"
python="${PYTHON:-python3}"
read -r -a overlays <<<"${DEPLOYMENTS_OVERLAYS:-}"
[ ${#overlays[@]} -gt 0 ] || die "DEPLOYMENTS_OVERLAYS is empty: name the overlay directories to bump, separated by spaces"
for overlay in "${overlays[@]}"; do
  case "/$overlay/" in
    //* | */../* | */./*) die "overlay '$overlay' must be a relative path inside the deployments repository" ;;
  esac
done
git check-ref-format --branch "$branch" >/dev/null 2>&1 || die "DEPLOYMENTS_BRANCH '$branch' is not a valid branch name"
[[ "$base_url" != *\?* ]] || die "DEPLOYMENTS_BASE_URL must not carry a query (?ref=...): '$base_url'"
[[ "$repo" =~ ^[a-z]+://[^/@]*@ && ! "$repo" =~ ^ssh:// ]] &&
  die "DEPLOYMENTS_REPO carries credentials; put the token in DEPLOYMENTS_TOKEN instead"
"$python" -c 'import yaml' 2>/dev/null || die "$python cannot import yaml: install PyYAML (pip install PyYAML==6.0.2)"
pin_overlay="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pin_overlay.py"

export GIT_TERMINAL_PROMPT=0
if [[ "$repo" =~ ^https?:// ]]; then
  [ -n "${DEPLOYMENTS_TOKEN:-}" ] || die "DEPLOYMENTS_TOKEN is empty: pushing to $repo needs a token"
  auth="$(printf '%s:%s' "${DEPLOYMENTS_USERNAME:-git}" "$DEPLOYMENTS_TOKEN" | base64 | tr -d '\n')"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader GIT_CONFIG_VALUE_0="Authorization: Basic $auth"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
clone="$work/deployments"
short="${commit:0:12}"

for attempt in 1 2 3; do
  rm -rf "$clone"
  git clone --quiet --depth 1 --branch "$branch" -- "$repo" "$clone" 2>"$work/clone.err" ||
    die "cannot clone branch $branch of $repo: $(tail -n 3 "$work/clone.err")"
  for overlay in "${overlays[@]}"; do
    kustomization=""
    for name in kustomization.yaml kustomization.yml Kustomization; do
      if [ -f "$clone/$overlay/$name" ]; then
        kustomization="$clone/$overlay/$name"
        break
      fi
    done
    [ -n "$kustomization" ] || die "$overlay in $repo ($branch) has no kustomization.yaml"
    "$python" "$pin_overlay" "$kustomization" --base "$base_url" --ref "$commit" --image "$image" --tag "$commit" \
      ${image_repo:+--new-name "$image_repo"} >/dev/null
  done
  if git -C "$clone" diff --quiet; then
    say "${overlays[*]} already pin $short: nothing to commit"
    exit 0
  fi
  git -C "$clone" diff --stat | sed 's/^/  /'
  git -C "$clone" add -- "${overlays[@]}"
  git -C "$clone" -c user.name="Woodpecker CI" -c user.email="ci@notion-mcp-remote.invalid" commit --quiet \
    -m "notion-mcp-remote $short: pin base and image in ${overlays[*]} [skip ci]" \
    -m "Base: $base_url?ref=$commit" -m "Image: ${image_repo:-$image}:$commit"
  if git -C "$clone" push --quiet origin "HEAD:refs/heads/$branch" 2>"$work/push.err"; then
    say "pushed $(git -C "$clone" rev-parse --short HEAD) to $branch: ${overlays[*]} pin $short"
    exit 0
  fi
  say "push rejected (attempt $attempt of 3): $(tail -n 1 "$work/push.err")"
  sleep $((attempt * 3))
done
die "could not push to $branch of $repo after 3 attempts"
