"""The checks of check.sh that need Python (python3 with PyYAML).

  dashboard DASHBOARD.json OUT.json   validate the dashboard's structure; write every PromQL expression of its
                                      panels and variables as a throwaway rule file for `promtool check rules`
  metrics RULES.yaml DASHBOARD.json OUT
                                      the metric names both use, one per line (histogram suffixes removed), into
                                      OUT; fails on a name no string in server/src or operator/src defines
"""

import json
import pathlib
import re
import sys

import yaml

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Grafana's variables, replaced before parsing: the built-in intervals by a duration, the dashboard's own
# variables (only used inside =~ regular expressions) by ".*".
BUILTIN_DURATIONS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
METRIC = re.compile(r"(?<![\w:])notion_mcp_[a-z0-9_]+(?![\w:])")
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*\w+\)$", re.S)


def fail(message):
    print(f"monitoring: {message}", file=sys.stderr)
    sys.exit(1)


def substitute(expr):
    return VARIABLE.sub(lambda m: BUILTIN_DURATIONS.get(m.group(1), ".*"), expr)


def panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard):
    """(where, expr) of every panel target and every query variable's metric selector."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel.get('id')} ({panel.get('title')}) target {target.get('refId')}", target.get("expr", "")
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        m = LABEL_VALUES.match(query.strip())
        yield f"variable {var.get('name')}", m.group(1) if m else query


def check_dashboard(path, out):
    try:
        dashboard = json.loads(pathlib.Path(path).read_text())
    except json.JSONDecodeError as e:
        fail(f"{path} is not valid JSON: {e}")
    problems = []
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
        problems.append("schemaVersion missing or older than 36")
    for key in ("uid", "title"):
        if not dashboard.get(key):
            problems.append(f"no {key}")
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no variable `datasource` of type datasource (prometheus)")
    for name, var in variables.items():
        if var.get("type") == "query" and var.get("datasource") != DATASOURCE:
            problems.append(f"variable {name}: datasource is not {DATASOURCE}")
    ids, cells = set(), {}
    for panel in panels(dashboard):
        where = f"panel {panel.get('id')} ({panel.get('title')})"
        if panel.get("id") in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if grid.get("x", 0) + grid.get("w", 0) > 24 or not grid.get("w") or not grid.get("h"):
            problems.append(f"{where}: gridPos {grid} does not fit 24 columns")
        for x in range(grid.get("x", 0), grid.get("x", 0) + grid.get("w", 0)):
            for y in range(grid.get("y", 0), grid.get("y", 0) + grid.get("h", 0)):
                if (x, y) in cells:
                    problems.append(f"{where}: overlaps {cells[(x, y)]}")
                    break
                cells[(x, y)] = where
            else:
                continue
            break
        if panel.get("type") == "row":
            continue
        if panel.get("datasource") != DATASOURCE:
            problems.append(f"{where}: datasource is not {DATASOURCE}")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            problems.append(f"{where}: refIds missing or repeated: {refs}")
        for t in targets:
            if t.get("datasource", DATASOURCE) != DATASOURCE:
                problems.append(f"{where}: target {t.get('refId')} has another datasource")
            if not t.get("expr", "").strip():
                problems.append(f"{where}: target {t.get('refId')} has no expr")
    if problems:
        fail(f"{path}:\n  " + "\n  ".join(problems))
    rules = []
    for i, (where, expr) in enumerate(dashboard_exprs(dashboard)):
        rules.append({"record": f"dashboard_expr_{i}", "expr": substitute(expr), "labels": {"where": where}})
    # JSON is YAML: promtool reads this file as a rule file.
    pathlib.Path(out).write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
    count = sum(1 for p in panels(dashboard) if p.get("type") != "row")
    print(f"monitoring: {path}: {count} panels, {len(rules)} expressions")


def names_in(expr):
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in METRIC.findall(STRING.sub('""', expr))}


def metrics(rules_path, dashboard_path, out):
    exprs = []
    for group in yaml.safe_load(pathlib.Path(rules_path).read_text())["groups"]:
        exprs.extend(rule["expr"] for rule in group["rules"])
    dashboard = json.loads(pathlib.Path(dashboard_path).read_text())
    exprs.extend(expr for _, expr in dashboard_exprs(dashboard))
    names = sorted(set().union(*(names_in(e) for e in exprs)))
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{n}\n" for n in names))
    print(f"monitoring: {len(names)} metric names written to {out}")
    sources = {
        "server": "".join(p.read_text() for p in pathlib.Path("server/src").rglob("*.rs")),
        "operator": "".join(p.read_text() for p in pathlib.Path("operator/src").rglob("*.rs")),
    }
    unknown = []
    for name in names:
        if name.startswith("notion_mcp_operator_"):
            crate, short = "operator", name.removeprefix("notion_mcp_operator_")
        else:
            crate, short = "server", name.removeprefix("notion_mcp_")
        if f'"{short}"' not in sources[crate]:
            unknown.append(f'{name} (no "{short}" in {crate}/src)')
    if unknown:
        fail("metric names the rules or the dashboard use but nothing defines:\n  " + "\n  ".join(unknown))


def main(argv):
    match argv:
        case ["dashboard", path, out]:
            check_dashboard(path, out)
        case ["metrics", rules_path, dashboard_path, out]:
            metrics(rules_path, dashboard_path, out)
        case _:
            fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
