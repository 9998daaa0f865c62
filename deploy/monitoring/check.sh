#!/usr/bin/env bash
# Checks of the alerting rules and the Grafana dashboard in deploy/monitoring/, run by .ci/run:
#   1. promtool check rules rules.yaml, promtool test rules rules_test.yaml (every alert fires and stays silent
#      as it should; the recording rules' ratios);
#   2. dashboard.json: valid JSON, every panel (rows aside) has the ${datasource} data source and targets, ids are
#      unique and panels do not overlap, and every PromQL expression of its panels and variables parses
#      (each becomes a recording rule of a throwaway rule file that promtool checks);
#   3. the chart's copies (charts/notion-mcp-operator/monitoring/, read by .Files.Get) equal these files;
#   4. the metric names rules and dashboard use go to OUT, one per line without _bucket/_sum/_count, for a
#      check against a real /metrics scrape; a name no string in server/src or operator/src defines (the
#      registry's name, without the notion_mcp_ or notion_mcp_operator_ prefix) fails.
# Usage: bash deploy/monitoring/check.sh [OUT]   (OUT defaults to target/monitoring-metrics.txt)
# Needs python3 with PyYAML and promtool (Debian's prometheus package); with CI=true, missing ones are installed
# with apt-get.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DIR=deploy/monitoring
CHART=charts/notion-mcp-operator
TARGET="${CARGO_TARGET_DIR:-target}"
OUT_NAMES="${1:-$TARGET/monitoring-metrics.txt}"
WORK="$TARGET/monitoring-ci"

install_packages() {
  local apt=(apt-get)
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "monitoring: cannot install $* (not root, no sudo)" >&2
      exit 1
    }
    apt=(sudo -n apt-get)
  fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "monitoring: installing ${missing[*]} (apt-get)"
    install_packages "${missing[@]}"
  else
    echo "monitoring: needs promtool and python3 with PyYAML: apt-get install ${missing[*]} (CI=true installs them)" >&2
    exit 1
  fi
fi
rm -rf "$WORK" && mkdir -p "$WORK"

echo "monitoring: promtool check rules, promtool test rules ($(promtool --version 2>&1 | head -1))"
promtool check rules "$DIR/rules.yaml"
promtool test rules "$DIR/rules_test.yaml"

echo "monitoring: dashboard structure and PromQL"
python3 "$DIR/check_monitoring.py" dashboard "$DIR/dashboard.json" "$WORK/dashboard-exprs.yaml"
promtool check rules "$WORK/dashboard-exprs.yaml"

echo "monitoring: the chart's copies in $CHART/monitoring/"
for file in rules.yaml dashboard.json; do
  if ! cmp -s "$DIR/$file" "$CHART/monitoring/$file"; then
    echo "monitoring: $CHART/monitoring/$file differs from $DIR/$file; copy it: cp $DIR/$file $CHART/monitoring/" >&2
    exit 1
  fi
done

python3 "$DIR/check_monitoring.py" metrics "$DIR/rules.yaml" "$DIR/dashboard.json" "$OUT_NAMES"
grep -qx notion_mcp_tool_calls_total "$OUT_NAMES"
echo "monitoring: OK"
