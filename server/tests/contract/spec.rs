//! The checker behind the contract test: Notion's OpenAPI spec loaded into per-operation validators
//! (path, query, headers, body), and the verdict for each recorded request.

use super::*;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum In {
    Path,
    Query,
    Header,
}

pub(super) struct Param {
    pub(super) name: String,
    pub(super) location: In,
    pub(super) required: bool,
    /// The parameter's `schema` (as declared; used to decide how to read a query-string value).
    pub(super) schema: Value,
    pub(super) validator: Validator,
}

pub(super) struct Body {
    pub(super) required: bool,
    /// Top-level property names the schema declares (empty: any).
    pub(super) declared: BTreeSet<String>,
    pub(super) validator: Validator,
}

pub(super) struct Operation {
    pub(super) id: String,
    pub(super) method: String,
    pub(super) template: String,
    pub(super) params: Vec<Param>,
    pub(super) body: Option<Body>,
}

/// Matches `path` against a path template; returns the path parameters (percent-decoded) and the
/// number of literal segments (so `/v1/users/me` wins over `/v1/users/{user_id}`).
pub(super) fn match_template(template: &str, path: &str) -> Option<(usize, Vec<(String, String)>)> {
    let want: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    if want.len() != got.len() {
        return None;
    }
    let mut literal = 0;
    let mut params = Vec::new();
    for (w, g) in want.iter().zip(&got) {
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if g.is_empty() {
                return None;
            }
            params.push((name.to_string(), percent_decode(g)));
        } else if w == g {
            literal += 1;
        } else {
            return None;
        }
    }
    Some((literal, params))
}

pub(super) struct Spec {
    pub(super) ops: Vec<Operation>,
}

/// What checking one request found.
#[derive(Debug)]
pub(super) enum Verdict {
    /// No operation of the spec has this method and path.
    Uncovered,
    /// Matched `operation`; `violations` is empty when the request is valid.
    Checked {
        operation: String,
        template: String,
        violations: Vec<String>,
    },
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Follows a local `$ref` (`#/components/parameters/notionVersion`) to its target.
pub(super) fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => v,
    }
}

/// The spec states `page_size` limits only in prose ("Maximum: 100"); make them checkable.
pub(super) fn tighten_page_size(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let is_page_size_param = map.get("name") == Some(&json!("page_size"));
            if is_page_size_param && let Some(Value::Object(s)) = map.get_mut("schema") {
                s.insert("maximum".into(), json!(100));
            }
            if let Some(Value::Object(props)) = map.get_mut("properties")
                && let Some(Value::Object(s)) = props.get_mut("page_size")
            {
                s.insert("maximum".into(), json!(100));
            }
            map.values_mut().for_each(tighten_page_size);
        }
        Value::Array(items) => items.iter_mut().for_each(tighten_page_size),
        _ => {}
    }
}

/// A validator for `schema`, with the spec's `components` alongside so `#/components/...` refs resolve.
pub(super) fn compile(schema: &Value, components: &Value) -> Validator {
    let mut root = match schema {
        Value::Object(m) => m.clone(),
        other => panic!("schema is not an object: {other}"),
    };
    root.insert("components".into(), components.clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("spec schema does not compile: {e}"))
}

impl Spec {
    pub(super) fn load() -> Self {
        let mut doc: Value = serde_json::from_str(SPEC).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        tighten_page_size(&mut doc);
        super::corrections::correct(&mut doc);
        let components = doc["components"].clone();
        let mut ops = Vec::new();
        for (template, item) in doc["paths"].as_object().unwrap() {
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (method, op) in item.as_object().unwrap() {
                if !matches!(method.as_str(), "get" | "post" | "patch" | "put" | "delete") {
                    continue;
                }
                let declared = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let params = shared
                    .iter()
                    .chain(&declared)
                    .map(|p| {
                        let p = resolve(&doc, p);
                        let location = match p["in"].as_str().unwrap() {
                            "path" => In::Path,
                            "query" => In::Query,
                            "header" => In::Header,
                            other => panic!("unexpected parameter location {other}"),
                        };
                        let schema = p.get("schema").cloned().unwrap_or(json!({}));
                        Param {
                            name: p["name"].as_str().unwrap().to_string(),
                            location,
                            required: p["required"] == true,
                            validator: compile(&schema, &components),
                            schema,
                        }
                    })
                    .collect();
                let body = op.get("requestBody").map(|rb| {
                    let rb = resolve(&doc, rb);
                    let schema = resolve(&doc, &rb["content"]["application/json"]["schema"]);
                    Body {
                        required: rb["required"] == true,
                        declared: schema
                            .get("properties")
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default(),
                        validator: compile(schema, &components),
                    }
                });
                ops.push(Operation {
                    id: op["operationId"].as_str().unwrap().to_string(),
                    method: method.to_uppercase(),
                    template: template.clone(),
                    params,
                    body,
                });
            }
        }
        assert_eq!(ops.len(), 24, "the 2025-09-03 spec describes 24 operations");
        Spec { ops }
    }

    pub(super) fn find(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&Operation, Vec<(String, String)>)> {
        self.ops
            .iter()
            .filter(|op| op.method == method)
            .filter_map(|op| match_template(&op.template, path).map(|(lit, p)| (lit, op, p)))
            .max_by_key(|(lit, _, _)| *lit)
            .map(|(_, op, params)| (op, params))
    }

    pub(super) fn check(&self, r: &RecordedRequest) -> Verdict {
        let Some((op, path_params)) = self.find(r.method.as_str(), &r.path) else {
            return Verdict::Uncovered;
        };
        let mut v = Vec::new();
        let errors = |validator: &Validator, value: &Value| -> Vec<String> {
            validator
                .iter_errors(value)
                .map(|e| format!("{e} (at `{}`)", e.instance_path()))
                .collect()
        };

        // Path parameters.
        for (name, value) in &path_params {
            match op
                .params
                .iter()
                .find(|p| p.location == In::Path && &p.name == name)
            {
                Some(p) => {
                    for e in errors(&p.validator, &Value::String(value.clone())) {
                        v.push(format!("path parameter `{name}`: {e}"));
                    }
                }
                None => v.push(format!("path parameter `{name}` is not declared")),
            }
        }

        // Query parameters: every name declared, every value of the declared type.
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, val) in url::form_urlencoded::parse(r.query.as_deref().unwrap_or("").as_bytes()) {
            query
                .entry(k.into_owned())
                .or_default()
                .push(val.into_owned());
        }
        for (name, values) in &query {
            let Some(p) = op
                .params
                .iter()
                .find(|p| p.location == In::Query && &p.name == name)
            else {
                v.push(format!("undeclared query parameter `{name}`"));
                continue;
            };
            let instance = match p.schema["type"].as_str() {
                Some("array") => Value::Array(values.iter().cloned().map(Value::String).collect()),
                _ if values.len() > 1 => {
                    v.push(format!(
                        "query parameter `{name}` repeated but not an array"
                    ));
                    continue;
                }
                Some("integer") | Some("number") => match values[0].parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => Value::String(values[0].clone()),
                },
                Some("boolean") => match values[0].as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    other => json!(other),
                },
                _ => Value::String(values[0].clone()),
            };
            for e in errors(&p.validator, &instance) {
                v.push(format!("query parameter `{name}`: {e}"));
            }
        }
        for p in op.params.iter().filter(|p| p.required) {
            if p.location == In::Query && !query.contains_key(&p.name) {
                v.push(format!("required query parameter `{}` missing", p.name));
            }
        }

        // Headers: Notion wants `Notion-Version` on every request, and a bearer token (the spec's
        // global `security: bearerAuth`). The fake records the token as a fingerprint.
        match r.notion_version() {
            None => v.push("`Notion-Version` header missing".into()),
            Some(ver) => {
                if !KNOWN_VERSIONS.contains(&ver) {
                    v.push(format!("`Notion-Version: {ver}` is not a released version"));
                }
                if let Some(p) = op.params.iter().find(|p| {
                    p.location == In::Header && p.name.eq_ignore_ascii_case("notion-version")
                }) {
                    for e in errors(&p.validator, &json!(ver)) {
                        v.push(format!("header `Notion-Version`: {e}"));
                    }
                }
            }
        }
        if !r.authorization().is_some_and(|a| a.starts_with("Bearer ")) {
            v.push(format!(
                "`Authorization: Bearer` missing (got {:?})",
                r.authorization()
            ));
        }

        // Body.
        match (&op.body, &r.body) {
            (Some(b), Some(body)) => {
                if !r
                    .headers
                    .get("content-type")
                    .is_some_and(|c| c.starts_with("application/json"))
                {
                    v.push(format!(
                        "body sent with content-type {:?}, spec wants application/json",
                        r.headers.get("content-type")
                    ));
                }
                for e in errors(&b.validator, body) {
                    v.push(format!("body: {e}"));
                }
                if let (false, Some(map)) = (b.declared.is_empty(), body.as_object()) {
                    for key in map.keys().filter(|k| !b.declared.contains(*k)) {
                        v.push(format!("body: undeclared field `{key}`"));
                    }
                }
            }
            (Some(b), None) if b.required => v.push("required request body missing".into()),
            (None, Some(body)) => v.push(format!("body sent to an operation without one: {body}")),
            _ => {}
        }

        Verdict::Checked {
            operation: op.id.clone(),
            template: op.template.clone(),
            violations: v,
        }
    }
}

pub(super) fn allowed_for(method: &str, template: &str) -> impl Iterator<Item = &'static Allowed> {
    ALLOWED
        .iter()
        .filter(move |a| a.method == method && a.template == template)
}

/// The outcome of checking a batch of requests.
#[derive(Default)]
pub(super) struct Report {
    /// operationId → number of requests that validated cleanly.
    pub(super) validated: BTreeMap<String, usize>,
    /// operationId → query parameter names and top-level body fields seen in those requests.
    pub(super) shapes: BTreeMap<String, BTreeSet<String>>,
    /// `METHOD template` → tolerated violations (allow-listed).
    pub(super) tolerated: BTreeMap<String, BTreeSet<String>>,
    /// Indices into [`ALLOWED`] that were hit.
    pub(super) used: BTreeSet<usize>,
    /// Everything that is neither valid nor allow-listed.
    pub(super) failures: Vec<String>,
}

pub(super) fn check_all(spec: &Spec, requests: &[RecordedRequest], report: &mut Report) {
    for r in requests {
        let method = r.method.as_str();
        let line = format!(
            "{method} {}{}{} body={}",
            r.path,
            if r.query.is_some() { "?" } else { "" },
            r.query.as_deref().unwrap_or(""),
            r.body.as_ref().map_or("-".into(), Value::to_string)
        );
        let index_of = |a: &Allowed| ALLOWED.iter().position(|x| std::ptr::eq(x, a)).unwrap();
        match spec.check(r) {
            Verdict::Uncovered => {
                let entry = ALLOWED.iter().find(|a| {
                    a.method == method
                        && a.violation.is_none()
                        && match_template(a.template, &r.path).is_some()
                });
                match entry {
                    Some(a) => {
                        report.used.insert(index_of(a));
                        report
                            .tolerated
                            .entry(format!("{method} {}", a.template))
                            .or_default()
                            .insert("not in the spec".into());
                    }
                    None => report.failures.push(format!(
                        "{line}\n    no operation in the spec; add it to ALLOWED with a reason if intended"
                    )),
                }
            }
            Verdict::Checked {
                operation,
                template,
                violations,
            } => {
                let clean = violations.is_empty();
                let mut open = Vec::new();
                for violation in violations {
                    match allowed_for(method, &template)
                        .find(|a| a.violation.is_none_or(|text| violation.contains(text)))
                    {
                        Some(a) => {
                            report.used.insert(index_of(a));
                            report
                                .tolerated
                                .entry(format!("{method} {template}"))
                                .or_default()
                                .insert(violation);
                        }
                        None => open.push(violation),
                    }
                }
                if clean {
                    let shape = report.shapes.entry(operation.clone()).or_default();
                    for (k, _) in
                        url::form_urlencoded::parse(r.query.as_deref().unwrap_or("").as_bytes())
                    {
                        shape.insert(format!("?{k}"));
                    }
                    if let Some(Value::Object(m)) = &r.body {
                        shape.extend(m.keys().cloned());
                    }
                    *report.validated.entry(operation).or_default() += 1;
                } else if !open.is_empty() {
                    report.failures.push(format!(
                        "{line}\n    operation {operation}:\n      - {}",
                        open.join("\n      - ")
                    ));
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------------- the scenario
