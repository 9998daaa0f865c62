"""Helpers of validate-delivery.sh (run with the CI venv's Python, which has PyYAML).

  split IN.yaml CRS.yaml          NotionMcpRemote documents of IN.yaml into CRS.yaml (for check-jsonschema)
  crd-schema CRD.yaml OUT.json    the served version's openAPIV3Schema
  to-json IN.yaml OUT.json        all documents as one JSON array
  rules A.yaml B.yaml             the operator's ClusterRole and Lease Role rules in A and B are identical
  overlay IN.yaml                 GitOps invariants of a rendered overlay (sync waves, image pinning)
  pipeline .woodpecker.yml        the pipeline runs the suite by calling .ci/run, before anything ships
  same-overlay REMOTE LOCAL       the remote-base overlay REMOTE (kustomize/remote-example) has LOCAL's objects:
                                  same files, same kustomization apart from the base reference and the image tag
  monitoring DEFAULT CAPS ALL SRC RULES
                                  the chart's PrometheusRule and dashboard ConfigMap in three renders (default
                                  values; PrometheusRule served; ci/all-on-values.yaml) hold the files of SRC
                                  (deploy/monitoring); the all-on rule groups are written to RULES for promtool
"""

import json
import os
import sys

import yaml


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def fail(message):
    print(f"delivery: {message}", file=sys.stderr)
    sys.exit(1)


def annotations(doc):
    return (doc.get("metadata") or {}).get("annotations") or {}


def split(src, dst):
    crs = [d for d in docs(src) if d.get("kind") == "NotionMcpRemote"]
    with open(dst, "w") as f:
        yaml.safe_dump_all(crs, f, sort_keys=False)
    print(len(crs))


def crd_schema(src, dst):
    crd = docs(src)[0]
    version = next(v for v in crd["spec"]["versions"] if v.get("served"))
    with open(dst, "w") as f:
        json.dump(version["schema"]["openAPIV3Schema"], f, indent=1)


def to_json(src, dst):
    with open(dst, "w") as f:
        json.dump(docs(src), f)


def operator_rules(path):
    out = {}
    for d in docs(path):
        if d["kind"] in ("ClusterRole", "Role"):
            key = "leases" if d["metadata"]["name"].endswith("leader-election") else "operator"
            out[key] = d["rules"]
    return out


def rules(a, b):
    ra, rb = operator_rules(a), operator_rules(b)
    if set(ra) != {"operator", "leases"} or ra != rb:
        fail(f"RBAC rules differ between {a} and {b}:\n{json.dumps(ra, indent=1)}\n{json.dumps(rb, indent=1)}")


def overlay(path):
    objects = docs(path)
    waves = {}
    for d in objects:
        wave = int(annotations(d).get("argocd.argoproj.io/sync-wave", "0"))
        waves.setdefault(d["kind"], set()).add(wave)
    crd = next((d for d in objects if d["kind"] == "CustomResourceDefinition"), None)
    if crd is None:
        fail(f"{path}: no CRD")
    if "ServerSideApply=true" not in annotations(crd).get("argocd.argoproj.io/sync-options", ""):
        fail(f"{path}: the CRD needs argocd.argoproj.io/sync-options: ServerSideApply=true")
    crs = [d for d in objects if d["kind"] == "NotionMcpRemote"]
    if not crs:
        fail(f"{path}: no NotionMcpRemote")
    early = max(max(waves[k]) for k in ("CustomResourceDefinition", "Namespace", "ClusterRole", "ServiceAccount"))
    if not early < min(waves["Deployment"]) < min(waves["NotionMcpRemote"]):
        fail(f"{path}: sync waves must order CRD/namespace/RBAC < operator < instances, got {waves}")
    deployment = next(d for d in objects if d["kind"] == "Deployment" and d["metadata"]["name"] == "notion-mcp-operator")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    if "@" not in image and image.rsplit(":", 1)[-1] in ("", "latest"):
        fail(f"{path}: operator image {image} is not pinned")
    for cr in crs:
        if "SkipDryRunOnMissingResource=true" not in annotations(cr).get("argocd.argoproj.io/sync-options", ""):
            fail(f"{path}: NotionMcpRemote {cr['metadata']['name']} needs SkipDryRunOnMissingResource=true")
        spec_image = cr["spec"].get("image", {})
        if f"{spec_image.get('repository')}:{spec_image.get('tag')}" != image:
            fail(f"{path}: NotionMcpRemote {cr['metadata']['name']} runs {spec_image}, the operator {image}")
    print(f"{path}: {len(objects)} objects, operator {image}, {len(crs)} NotionMcpRemote")


# Commands of .ci/run that no other always-on step may run by itself (a copy would drift from it).
SUITE_COMMANDS = ("cargo fmt", "cargo clippy", "cargo test", "fuzz/run.sh", "tests/e2e/run.sh",
                  "validate-manifests.sh", "validate-delivery.sh", "--quick")


def pipeline(path):
    with open(path) as f:
        p = yaml.safe_load(f)
    steps = p.get("steps") or []
    if isinstance(steps, dict):
        steps = [dict(step, name=name) for name, step in steps.items()]
    by_name = {s["name"]: s for s in steps}
    suite = [s for s in steps if "bash .ci/run" in (s.get("commands") or [])]
    if len(suite) != 1:
        fail(f"{path}: exactly one step must run 'bash .ci/run' (the suite as CI runs it), found {len(suite)}")
    suite = suite[0]

    def events(when):
        when = when if isinstance(when, list) else [when] if when else []
        out = set()
        for w in when:
            e = w.get("event", [])
            out.update(e if isinstance(e, list) else [e])
        return out

    def opt_in(step):
        when = step.get("when")
        when = when if isinstance(when, list) else [when] if when else []
        return bool(when) and all("evaluate" in w for w in when)

    for scope, when in (("the pipeline", p.get("when")), (f"step {suite['name']}", suite.get("when"))):
        if when and not {"push", "pull_request"} <= events(when):
            fail(f"{path}: {scope} must run on push and pull_request, runs on {sorted(events(when))}")
    if suite.get("failure") == "ignore":
        fail(f"{path}: step {suite['name']} may not ignore failures")

    def needs_suite(step, seen=()):
        deps = step.get("depends_on") or []
        deps = deps if isinstance(deps, list) else [deps]
        return suite["name"] in deps or any(
            d in by_name and d not in seen and needs_suite(by_name[d], seen + (d,)) for d in deps)

    for step in steps:
        if step is suite:
            continue
        if not needs_suite(step):
            fail(f"{path}: step {step['name']} must run after {suite['name']} (depends_on, directly or not)")
        if opt_in(step):
            continue
        for command in step.get("commands") or []:
            if any(c in command for c in SUITE_COMMANDS):
                fail(f"{path}: step {step['name']} runs part of .ci/run by itself ({command}); "
                     f"the suite runs only through 'bash .ci/run'")
    print(f"{path}: the suite is step {suite['name']} (bash .ci/run); {len(steps) - 1} other steps after it")


def same_overlay(remote, local):
    names = sorted(os.listdir(local))
    if sorted(os.listdir(remote)) != names:
        fail(f"{remote} has {sorted(os.listdir(remote))}, {local} has {names}")
    for name in names:
        if name == "kustomization.yaml":
            continue
        with open(f"{remote}/{name}") as a, open(f"{local}/{name}") as b:
            if a.read() != b.read():
                fail(f"{remote}/{name} differs from {local}/{name}")
    r, l = docs(f"{remote}/kustomization.yaml")[0], docs(f"{local}/kustomization.yaml")[0]
    bases = [x for x in r["resources"] if "//kustomize/base?ref=" in x]
    if len(bases) != 1 or "../../base" not in l["resources"]:
        fail(f"{remote}: expected one remote kustomize/base resource, {local} the local ../../base")
    ref = bases[0].rsplit("ref=", 1)[1]
    tags = [i.get("newTag") for i in r.get("images", [])]
    if tags != [ref]:
        fail(f"{remote}: the image tag {tags} and the base ref {ref} must be the same commit")
    r["resources"] = ["../../base" if x == bases[0] else x for x in r["resources"]]
    for image in r["images"] + l["images"]:
        image.pop("newTag", None)
    if r != l:
        fail(f"{remote}/kustomization.yaml differs from {local}/kustomization.yaml beyond the base and the tag:\n"
             f"{json.dumps(r, indent=1)}\n{json.dumps(l, indent=1)}")
    print(f"{remote}: same as {local}, pinned at {ref}")


def monitoring(default, caps, all_on, src, rules_out):
    with open(f"{src}/rules.yaml") as f:
        groups = yaml.safe_load(f)["groups"]
    with open(f"{src}/dashboard.json") as f:
        dashboard = json.load(f)

    def kinds(path, kind):
        return [d for d in docs(path) if d.get("kind") == kind]

    def dashboards(path):
        return [d for d in kinds(path, "ConfigMap") if (d["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"]

    def rule_groups(path):
        found = kinds(path, "PrometheusRule")
        return found[0]["spec"]["groups"] if len(found) == 1 else fail(f"{path}: {len(found)} PrometheusRules, not 1")

    if kinds(default, "PrometheusRule"):
        fail(f"{default}: a PrometheusRule although the cluster serves none (monitoring.prometheusRule.enabled: auto)")
    operator_only = [g for g in groups if g["name"] == "notion-mcp-operator"]
    if rule_groups(caps) != operator_only:
        fail(f"{caps}: the PrometheusRule must hold the operator's group of {src}/rules.yaml, and only it")
    if rule_groups(all_on) != groups:
        fail(f"{all_on}: the PrometheusRule (serverRules: true) must hold every group of {src}/rules.yaml")
    for path in (default, all_on):
        found = dashboards(path)
        if len(found) != 1 or json.loads(found[0]["data"]["notion-mcp-remote.json"]) != dashboard:
            fail(f"{path}: expected one ConfigMap labelled grafana_dashboard: \"1\" holding {src}/dashboard.json")
    if dashboards(all_on)[0]["metadata"]["namespace"] != "monitoring":
        fail(f"{all_on}: the dashboard ConfigMap must go to monitoring.dashboard.namespace")
    with open(rules_out, "w") as f:
        yaml.safe_dump({"groups": rule_groups(all_on)}, f, sort_keys=False)
    print(f"chart: PrometheusRule (auto, served, serverRules) and dashboard ConfigMap hold {src}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"split": split, "crd-schema": crd_schema, "to-json": to_json, "rules": rules, "overlay": overlay,
     "pipeline": pipeline, "same-overlay": same_overlay, "monitoring": monitoring}[command](*args)
