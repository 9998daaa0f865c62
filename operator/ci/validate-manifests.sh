#!/usr/bin/env bash
# Offline manifest checks of the operator, run by .ci/run:
#   1. the committed CRD copies match `notion-mcp-operator crdgen` (drift check);
#   2. the CRD and every rendered child (examples and snapshots) pass kubernetes-validate --strict against the
#      Kubernetes 1.33 schemas;
#   3. the example resources pass check-jsonschema against the CRD's own openAPIV3Schema;
#   4. the PrometheusRule rendered for each example (deploy/monitoring/rules.yaml scoped to the instance) passes
#      promtool check rules, when promtool is installed (deploy/monitoring/check.sh installs it in CI).
# Tools are pinned and installed into a venv under target/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
K8S_VERSION="${K8S_VERSION:-1.33.0}"
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/operator-ci-venv"
OUT="$TARGET/operator-ci"
BIN="$TARGET/debug/notion-mcp-operator"

if ! "$VENV/bin/python" -c 'import kubernetes_validate, check_jsonschema' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    kubernetes-validate==1.37.0 check-jsonschema==0.39.0
fi
export PATH="$VENV/bin:$PATH"

cargo build --quiet -p notion-mcp-operator --bin notion-mcp-operator
rm -rf "$OUT" && mkdir -p "$OUT"

echo "operator: CRD drift check"
"$BIN" crdgen >"$OUT/crd.yaml"
for committed in charts/notion-mcp-operator/crds/notionmcpremotes.yaml kustomize/base/crd.yaml; do
  if ! diff -u "$committed" "$OUT/crd.yaml"; then
    echo "operator: $committed is stale; regenerate with: notion-mcp-operator crdgen > $committed" >&2
    exit 1
  fi
done

echo "operator: kubernetes-validate --strict -k $K8S_VERSION"
kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$OUT/crd.yaml"
for example in operator/examples/*.yaml; do
  name="$(basename "$example" .yaml)"
  "$BIN" render -f "$example" >"$OUT/render-$name.yaml"
  "$BIN" render --no-service-monitor --no-prometheus-rule -f "$example" >"$OUT/render-$name-plain.yaml"
done
# ServiceMonitor and PrometheusRule have no built-in schema: kubernetes-validate only warns about them (hence
# --no-warn).
kubernetes-validate --strict --quiet --no-warn -k "$K8S_VERSION" "$OUT"/render-*.yaml operator/tests/snapshots/*.yaml

echo "operator: examples against the CRD schema (check-jsonschema)"
python3 - "$OUT/crd.yaml" "$OUT/cr-schema.json" <<'PY'
import json, sys, yaml
crd = yaml.safe_load(open(sys.argv[1]))
version = next(v for v in crd["spec"]["versions"] if v.get("served"))
json.dump(version["schema"]["openAPIV3Schema"], open(sys.argv[2], "w"), indent=1)
PY
check-jsonschema --schemafile "$OUT/cr-schema.json" operator/examples/*.yaml

echo "operator: the scoped PrometheusRule of each example (promtool check rules)"
if command -v promtool >/dev/null 2>&1; then
  for example in operator/examples/*.yaml; do
    name="$(basename "$example" .yaml)"
    python3 - "$OUT/render-$name.yaml" "$OUT/rules-$name.yaml" <<'PY'
import sys, yaml
rules = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PrometheusRule"]
assert len(rules) == 1, f"{sys.argv[1]}: {len(rules)} PrometheusRules"
yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
    promtool check rules "$OUT/rules-$name.yaml"
  done
else
  echo "operator: promtool not installed: the scoped rules are not parsed (apt-get install prometheus)"
fi
echo "operator: manifests OK"
