//! MCP prompts: reusable workflows that tell the model which tools to call.

use rmcp::ErrorData as McpError;
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};

struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    args: &'static [(&'static str, &'static str, bool)],
    template: &'static str,
}

const PROMPTS: &[Spec] = &[
    Spec {
        name: "summarize_page",
        title: "Summarize a Notion page",
        description: "Read a page with all its content and summarize it.",
        args: &[
            ("page", "Page id or Notion URL", true),
            ("focus", "What the summary should focus on", false),
        ],
        template: "Use the `fetch` tool on the Notion page {page} (follow its continuation cursor until the whole page \
                   is read). Then write a concise summary: purpose, key points, decisions, open questions and action \
                   items with owners.{focus}",
    },
    Spec {
        name: "database_report",
        title: "Report on a Notion database",
        description: "Query a database and turn the rows into a short report.",
        args: &[
            ("database", "Database or data source id or Notion URL", true),
            ("question", "What the report should answer", false),
        ],
        template: "Use `get_data_source` (or `fetch`) on {database} to learn its properties, then `query_data_source` \
                   with a filter and sorts that fit the question, reading all pages of results. Write a report with \
                   counts, notable rows (with their titles) and trends.{question}",
    },
    Spec {
        name: "find_in_workspace",
        title: "Find something in Notion",
        description: "Search the workspace for a topic and read the best matches.",
        args: &[("topic", "What to look for", true)],
        template: "Use `search` with a few short title keywords for \"{topic}\" (try synonyms if nothing matches), \
                   `fetch` the two or three most relevant results, and answer with what you found, citing page titles \
                   and URLs.",
    },
];

pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|p| {
            let args = p
                .args
                .iter()
                .map(|(n, d, r)| {
                    PromptArgument::new(*n)
                        .with_description(*d)
                        .with_required(*r)
                })
                .collect();
            Prompt::new(p.name, Some(p.description), Some(args)).with_title(p.title)
        })
        .collect()
}

pub fn get(name: &str, arguments: Option<&JsonObject>) -> Result<GetPromptResult, McpError> {
    let Some(spec) = PROMPTS.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        return Err(McpError::invalid_params(
            format!("unknown prompt '{name}'; available: {}", names.join(", ")),
            None,
        ));
    };
    let arg = |k: &str| {
        arguments
            .and_then(|a| a.get(k))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut text = spec.template.to_string();
    for (n, _, required) in spec.args {
        let value = match (arg(n), required) {
            (Some(v), _) => {
                if spec.template.contains(&format!("{{{n}}}")) && !required {
                    format!(" Focus: {v}.")
                } else {
                    v.to_string()
                }
            }
            (None, true) => {
                return Err(McpError::invalid_params(
                    format!("prompt '{name}' needs the argument '{n}'"),
                    None,
                ));
            }
            (None, false) => String::new(),
        };
        text = text.replace(&format!("{{{n}}}"), &value);
    }
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(spec.description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_arguments_and_requires_required_ones() {
        let args = json!({"page": "https://www.notion.so/X-0123", "focus": "risks"});
        let r = get("summarize_page", args.as_object()).expect("prompt");
        let text = serde_json::to_string(&r.messages).expect("json");
        assert!(text.contains("https://www.notion.so/X-0123"));
        assert!(text.contains("Focus: risks."));
        assert!(get("summarize_page", None).is_err());
        assert!(get("nope", None).is_err());
        assert_eq!(list().len(), PROMPTS.len());
    }
}
