//! YAML output shared by `crdgen`, `render` and the snapshot tests.
//!
//! serde_yaml (YAML 1.2) leaves strings such as `2026-03-11` or `off` unquoted; YAML 1.1 readers (PyYAML, hence
//! kubernetes-validate and check-jsonschema, and older Go YAML) would read them as a date or a boolean, so such
//! scalars are quoted here.

use serde::Serialize;

/// Serializes `value` as one YAML document (no leading `---`).
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, serde_yaml::Error> {
    Ok(quote_dates(&serde_yaml::to_string(value)?))
}

/// Serializes `values` as a multi-document YAML stream.
pub fn to_yaml_stream<T: Serialize>(values: &[T]) -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for value in values {
        out.push_str("---\n");
        out.push_str(&to_yaml(value)?);
    }
    Ok(out)
}

/// Plain scalars that YAML 1.1 reads as booleans.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

fn needs_quotes(s: &str) -> bool {
    is_date(s) || YAML11_BOOLS.contains(&s)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

fn quote_dates(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    for line in yaml.lines() {
        let value_start = line.rfind(": ").map(|i| i + 2).or_else(|| {
            line.trim_start()
                .starts_with("- ")
                .then(|| line.find("- ").map(|i| i + 2))
                .flatten()
        });
        match value_start {
            Some(start) if needs_quotes(&line[start..]) => {
                out.push_str(&line[..start]);
                out.push('\'');
                out.push_str(&line[start..]);
                out.push('\'');
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::quote_dates;

    #[test]
    fn yaml11_dates_and_booleans_are_quoted() {
        assert_eq!(
            quote_dates("a: 2026-03-11\nenum:\n- 2025-09-03\nb: 2026-03-111\nc: off\nd: offset\n"),
            "a: '2026-03-11'\nenum:\n- '2025-09-03'\nb: 2026-03-111\nc: 'off'\nd: offset\n"
        );
    }
}
