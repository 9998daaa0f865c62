// Checks ArgoCD Applications (a multi-document YAML already converted to a JSON array on stdin) against the
// validators @kubernetes-models/argo-cd generates from the ArgoCD CRDs, plus this project's rules: automated
// sync with prune and selfHeal, server-side apply, and a source path that exists in this repository.
// Usage: node validate-applications.mjs <repo root> < applications.json
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";

const root = process.argv[2];
const docs = JSON.parse(readFileSync(0, "utf8"));
const failures = [];
let checked = 0;
for (const doc of docs) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  if (doc.kind !== "Application") {
    failures.push(`${name}: only Applications are expected here`);
    continue;
  }
  try {
    new Application(doc).validate();
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    continue;
  }
  const { source, syncPolicy } = doc.spec;
  const rules = [
    [syncPolicy?.automated?.prune === true, "syncPolicy.automated.prune must be true"],
    [syncPolicy?.automated?.selfHeal === true, "syncPolicy.automated.selfHeal must be true"],
    [(syncPolicy?.syncOptions ?? []).includes("ServerSideApply=true"), "syncOptions must include ServerSideApply=true"],
    [source?.path && existsSync(join(root, source.path, "kustomization.yaml")), `source.path ${source?.path} is not a kustomization in this repository`],
  ];
  for (const [ok, message] of rules) if (!ok) failures.push(`${name}: ${message}`);
  checked += 1;
}
for (const f of failures) console.error(`argocd: ${f}`);
if (failures.length || checked === 0) process.exit(1);
console.log(`argocd: ${checked} Applications valid`);
