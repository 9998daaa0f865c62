//! PrometheusRule (Prometheus Operator, monitoring.coreos.com/v1) with the server's alerting and recording rules,
//! scoped to one instance, only when its CRD is installed and `monitoring.prometheusRule` is on.
//!
//! The rules are deploy/monitoring/rules.yaml, embedded at build time (the same file the Helm chart ships and
//! promtool tests). Every group but the operator's own is kept, and every selector of a server series
//! (`notion_mcp_*`, the recorded `notion_mcp:*`, and `up`) gets `namespace` and `job` matchers for this instance:
//! its ServiceMonitor's job is the Service's name, which is the resource's name.

use super::{Facts, base_name, meta};
use crate::crd::NotionMcpRemote;
use kube::ResourceExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// The rule file, as committed.
pub const RULES: &str = include_str!("../../../deploy/monitoring/rules.yaml");
/// Group of the operator's own alerts: about the operator's series, not an instance's, so never scoped.
pub const OPERATOR_GROUP: &str = "notion-mcp-operator";

static GROUPS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    serde_yaml::from_str::<Value>(RULES)
        .ok()
        .and_then(|rules| rules.get("groups").and_then(Value::as_array).cloned())
        .unwrap_or_default()
});

/// API resource of `PrometheusRule`.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

/// The server's PrometheusRule, when wanted and its CRD exists.
pub fn prometheus_rule(cr: &NotionMcpRemote, facts: &Facts) -> Option<DynamicObject> {
    if !(cr.spec.monitoring.prometheus_rule && facts.prometheus_rule_crd) {
        return None;
    }
    let namespace = cr.namespace().unwrap_or_else(|| "default".into());
    let mut object = DynamicObject::new(&base_name(cr), &api_resource());
    object.metadata = meta(cr, base_name(cr));
    object.data = json!({ "spec": { "groups": scoped_groups(&namespace, &base_name(cr)) } });
    Some(object)
}

/// The server's rule groups with every expression scoped to `namespace` and `job`.
pub fn scoped_groups(namespace: &str, job: &str) -> Vec<Value> {
    let matchers = format!(
        "namespace=\"{}\",job=\"{}\"",
        escape(namespace),
        escape(job)
    );
    GROUPS
        .iter()
        .filter(|group| group.get("name").and_then(Value::as_str) != Some(OPERATOR_GROUP))
        .cloned()
        .map(|mut group| {
            if let Some(rules) = group.get_mut("rules").and_then(Value::as_array_mut) {
                for rule in rules {
                    if let Some(expr) = rule.get("expr").and_then(Value::as_str) {
                        rule["expr"] = Value::String(scope(expr, &matchers));
                    }
                }
            }
            group
        })
        .collect()
}

/// Escapes a label value for a PromQL double-quoted string.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Whether `name` is a series this instance exports (or one recorded from them, or its scrape's `up`).
fn is_server_series(name: &str) -> bool {
    name == "up"
        || name.starts_with("notion_mcp:")
        || (name.starts_with("notion_mcp_") && !name.starts_with("notion_mcp_operator_"))
}

/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Adds `matchers` to every selector of a server series in the PromQL expression `expr`: `name{a="b"}` becomes
/// `name{matchers,a="b"}` and a bare `name` becomes `name{matchers}`. Strings, comments, numbers (durations
/// included), label matchers and label lists (`by (…)`, `on (…)`, …) are copied as they are, so label names and
/// values never match.
pub fn scope(expr: &str, matchers: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len() + 64);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        i += 1;
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, start),
            '{' => i = skip_until(&chars, start, '}'),
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            _ if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                let next = skip_space(&chars, i);
                if is_server_series(&name) {
                    out.push_str(&name);
                    i = add_matchers(&chars, i, matchers, &mut out);
                    continue;
                }
                if LABEL_LISTS.contains(&name.as_str()) && chars.get(next) == Some(&'(') {
                    i = skip_until(&chars, next, ')');
                }
            }
            _ => {}
        }
        out.extend(&chars[start..i]);
    }
    out
}

/// Index of the first non-whitespace character from `i`.
fn skip_space(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Index just after the string literal opening at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' && quote != '`' {
            2
        } else {
            1
        };
    }
    (i + 1).min(chars.len())
}

/// Index just after the first `close` from `start` outside string literals.
fn skip_until(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != close {
        i = if matches!(chars[i], '"' | '\'' | '`') {
            skip_string(chars, i)
        } else {
            i + 1
        };
    }
    (i + 1).min(chars.len())
}

/// Writes the matchers of the selector whose metric name ends before `i`; returns where to continue.
fn add_matchers(chars: &[char], i: usize, matchers: &str, out: &mut String) -> usize {
    let brace = skip_space(chars, i);
    if chars.get(brace) != Some(&'{') {
        out.push('{');
        out.push_str(matchers);
        out.push('}');
        return i;
    }
    out.extend(&chars[i..=brace]);
    out.push_str(matchers);
    if chars.get(skip_space(chars, brace + 1)) != Some(&'}') {
        out.push(',');
    }
    let end = skip_until(chars, brace, '}');
    out.extend(&chars[brace + 1..end]);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = r#"namespace="ns",job="a""#;

    #[test]
    fn selectors_of_server_series_get_the_matchers() {
        assert_eq!(
            scope(r#"rate(notion_mcp_x_total{status="429"}[5m])"#, M),
            r#"rate(notion_mcp_x_total{namespace="ns",job="a",status="429"}[5m])"#
        );
        assert_eq!(
            scope("max by (namespace, job) (notion_mcp_open) == 1", M),
            r#"max by (namespace, job) (notion_mcp_open{namespace="ns",job="a"}) == 1"#
        );
        assert_eq!(
            scope(
                "up == 0 and on (job) present_over_time(notion_mcp_rss [1h])",
                M
            ),
            r#"up{namespace="ns",job="a"} == 0 and on (job) present_over_time(notion_mcp_rss{namespace="ns",job="a"} [1h])"#
        );
        assert_eq!(
            scope("notion_mcp:ratio_rate5m > (14.4 * 0.01)", M),
            r#"notion_mcp:ratio_rate5m{namespace="ns",job="a"} > (14.4 * 0.01)"#
        );
        assert_eq!(
            scope("notion_mcp_y { }", M),
            r#"notion_mcp_y {namespace="ns",job="a" }"#
        );
    }

    #[test]
    fn strings_labels_numbers_and_other_series_are_left_alone() {
        for expr in [
            r#"x{outcome!~"notion_mcp_x|up"}"#,
            "sum by (up) (rate(other_total[5m]))",
            r#"x{up="1"} * on (up, notion_mcp_x) group_left (up) y"#,
            "notion_mcp_operator_reconcile_errors_total > 0",
            "1e3 + 5m # notion_mcp_x in a comment\n",
            r#"'notion_mcp_\'q' + `up`"#,
        ] {
            assert_eq!(scope(expr, M), expr);
        }
    }

    #[test]
    fn every_server_group_is_scoped_and_the_operator_group_left_out() {
        let groups = scoped_groups("notion-mcp", "notion-mcp");
        let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
        assert_eq!(names, ["notion-mcp-remote", "notion-mcp-remote-slo"]);
        let rules = |groups: &[Value]| -> Vec<Value> {
            groups
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect()
        };
        let server: Vec<Value> = GROUPS
            .iter()
            .filter(|g| g["name"] != OPERATOR_GROUP)
            .cloned()
            .collect();
        assert_eq!(server.len(), groups.len());
        let source = rules(&server);
        let scoped = rules(&groups);
        assert_eq!(source.len(), scoped.len());
        for (rule, original) in scoped.iter().zip(&source) {
            let expr = rule["expr"].as_str().unwrap_or_default();
            let original = original["expr"].as_str().unwrap_or_default();
            // Every metric name of the server's rules starts with notion_mcp, and `up` is followed by a space.
            let selectors =
                original.matches("notion_mcp").count() + original.matches("up ").count();
            let matchers = expr
                .matches(r#"{namespace="notion-mcp",job="notion-mcp""#)
                .count();
            assert!(selectors > 0 && matchers == selectors, "{expr}");
            assert_eq!(
                expr.replace(r#"{namespace="notion-mcp",job="notion-mcp"}"#, "")
                    .replace(r#"namespace="notion-mcp",job="notion-mcp","#, ""),
                original,
                "nothing but matchers added"
            );
        }
    }
}
