//! Whole Notion objects → Markdown: page headers, row listings, data-source schemas, database
//! summaries and user lines.

use serde_json::Value;

use super::table::pipe_table;
use super::{escape, icon_text, notion_url, property_value, rich_text};
use notion_model::types::{DataSource, Database, Page, PropertyValue, RichText, User, plain_text};

/// `# <icon> Title`, a `| Property | Value |` table of the other properties (in Notion's order),
/// then a line `id: … · parent: <type> <id> · url: …` (plus `· in trash` when trashed).
pub fn page_header(page: &Page) -> String {
    let mut out = String::from("# ");
    if let Some(icon) = page.icon.as_ref().and_then(icon_text) {
        out.push_str(&icon);
        out.push(' ');
    }
    let title = page.title().replace(['\n', '\r'], " ");
    out.push_str(if title.trim().is_empty() {
        "Untitled"
    } else {
        title.trim()
    });
    out.push_str("\n\n");
    let rows: Vec<Vec<String>> = page
        .properties
        .iter()
        .filter(|(_, p)| p.kind != "title")
        .map(|(name, p)| vec![name.clone(), property_value(p)])
        .collect();
    if !rows.is_empty() {
        out.push_str(&pipe_table(&["Property".into(), "Value".into()], &rows));
        out.push('\n');
    }
    out.push_str(&format!("id: {}", page.id));
    if let Some(parent) = parent_text(&page.parent) {
        out.push_str(&format!(" · parent: {parent}"));
    }
    let url = match page.url.as_deref() {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => notion_url(&page.id),
    };
    out.push_str(&format!(" · url: {url}"));
    if page.in_trash {
        out.push_str(" · in trash");
    }
    out.push('\n');
    out
}

/// `<type> <id>` for a parent object, e.g. `data_source_id 1f…`; `workspace` for the workspace.
fn parent_text(parent: &Value) -> Option<String> {
    let kind = parent.get("type")?.as_str()?;
    match parent.get(kind) {
        Some(Value::String(id)) => Some(format!("{kind} {id}")),
        _ => Some(kind.to_owned()),
    }
}

fn title_property(page: &Page) -> Option<(&String, &PropertyValue)> {
    page.properties.iter().find(|(_, p)| p.kind == "title")
}

/// Rows as a Markdown table: the title column (named after the title property), then each property
/// in order of first appearance (or the chosen `columns`, by name or property id), then `id`.
/// Missing properties are empty cells. No rows → empty string.
pub fn rows_table(rows: &[Page], columns: Option<&[String]>) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let title_name = rows
        .iter()
        .find_map(title_property)
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "title".to_owned());
    let cols: Vec<String> = match columns {
        Some(chosen) => chosen
            .iter()
            .filter(|c| c.as_str() != "title")
            .map(|c| {
                rows.iter()
                    .find_map(|r| r.properties.find(c))
                    .map_or_else(|| c.clone(), |(name, _)| name.clone())
            })
            .filter(|c| *c != title_name)
            .collect(),
        None => {
            let mut seen: Vec<String> = Vec::new();
            for row in rows {
                for (name, p) in row.properties.iter() {
                    if p.kind != "title" && !seen.contains(name) {
                        seen.push(name.clone());
                    }
                }
            }
            seen
        }
    };
    let mut header = Vec::with_capacity(cols.len() + 2);
    header.push(title_name);
    header.extend(cols.iter().cloned());
    header.push("id".to_owned());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = Vec::with_capacity(cols.len() + 2);
            cells.push(
                title_property(row)
                    .map(|(_, p)| property_value(p))
                    .unwrap_or_default(),
            );
            for c in &cols {
                cells.push(
                    row.properties
                        .find(c)
                        .map(|(_, p)| property_value(p))
                        .unwrap_or_default(),
                );
            }
            cells.push(row.id.clone());
            cells
        })
        .collect();
    pipe_table(&header, &body)
}

/// `## <title>`, a line with the data-source id (and its database id), then
/// `| Property | Type | Details |` with select/status options, relation targets, formula
/// expressions, number formats, rollup configuration, unique-id prefixes and descriptions.
pub fn data_source_schema(ds: &DataSource) -> String {
    let title = plain_text(&ds.title);
    let mut out = format!(
        "## {}\n",
        if title.trim().is_empty() {
            "Untitled"
        } else {
            title.trim()
        }
    );
    out.push_str(&format!("data_source_id: {}", ds.id));
    if let Some(db) = ds.parent.get("database_id").and_then(Value::as_str) {
        out.push_str(&format!(" · database_id: {db}"));
    }
    out.push_str("\n\n");
    let rows: Vec<Vec<String>> = ds
        .properties
        .iter()
        .map(|(name, entry)| {
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
            vec![name.clone(), kind.to_owned(), schema_details(kind, entry)]
        })
        .collect();
    out.push_str(&pipe_table(
        &["Property".into(), "Type".into(), "Details".into()],
        &rows,
    ));
    out
}

fn str_of<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The Details cell of one schema entry.
fn schema_details(kind: &str, entry: &Value) -> String {
    let config = entry.get(kind);
    let mut parts: Vec<String> = Vec::new();
    match kind {
        "select" | "multi_select" | "status" => {
            let names: Vec<&str> = config
                .and_then(|c| c.get("options"))
                .and_then(Value::as_array)
                .map(|opts| opts.iter().map(|o| str_of(Some(o), "name")).collect())
                .unwrap_or_default();
            if !names.is_empty() {
                parts.push(format!("options: {}", names.join(", ")));
            }
        }
        "relation" => {
            let target = match str_of(config, "data_source_id") {
                "" => format!("database_id {}", str_of(config, "database_id")),
                ds => format!("data_source_id {ds}"),
            };
            parts.push(format!("→ {target}"));
            let synced = str_of(
                config.and_then(|c| c.get("dual_property")),
                "synced_property_name",
            );
            if !synced.is_empty() {
                parts.push(format!("synced with {synced}"));
            }
        }
        "formula" => {
            let expr = str_of(config, "expression");
            if !expr.is_empty() {
                parts.push(escape::code_span(expr));
            }
        }
        "number" => match str_of(config, "format") {
            "" | "number" => {}
            f => parts.push(format!("format: {f}")),
        },
        "rollup" => parts.push(format!(
            "{}({}.{})",
            str_of(config, "function"),
            str_of(config, "relation_property_name"),
            str_of(config, "rollup_property_name")
        )),
        "unique_id" => {
            let prefix = str_of(config, "prefix");
            if !prefix.is_empty() {
                parts.push(format!("prefix: {prefix}"));
            }
        }
        _ => {}
    }
    let description = str_of(Some(entry), "description");
    if !description.is_empty() {
        parts.push(description.to_owned());
    }
    parts.join("; ")
}

/// `## <title>`, the database id, its description, and its data sources with their ids.
pub fn database_summary(db: &Database) -> String {
    let title = plain_text(&db.title);
    let mut out = format!(
        "## {}\ndatabase_id: {}",
        if title.trim().is_empty() {
            "Untitled"
        } else {
            title.trim()
        },
        db.id
    );
    if let Some(url) = db.rest.get("url").and_then(Value::as_str) {
        out.push_str(&format!(" · url: {url}"));
    }
    out.push('\n');
    let description: Vec<RichText> = db
        .rest
        .get("description")
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default();
    let description = rich_text(&description);
    if !description.trim().is_empty() {
        out.push_str(description.trim());
        out.push('\n');
    }
    if db.data_sources.is_empty() {
        out.push_str("data sources: none\n");
    } else {
        out.push_str("data sources (name: data_source_id):\n");
        for ds in &db.data_sources {
            let name = if ds.name.trim().is_empty() {
                "Untitled"
            } else {
                ds.name.trim()
            };
            out.push_str(&format!("- {name}: {}\n", ds.id));
        }
    }
    out
}

/// `Name (person, email) — id`; bots read `Name (bot) — id`.
pub fn user_line(u: &User) -> String {
    let name = u
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("(no name)");
    let kind = u
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .unwrap_or("user");
    let email = str_of(u.rest.get("person"), "email");
    if email.is_empty() {
        format!("{name} ({kind}) — {}", u.id)
    } else {
        format!("{name} ({kind}, {email}) — {}", u.id)
    }
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
