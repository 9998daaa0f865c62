//! The server-wide tool selection: `--read-only` exposes only tools that do not write, `--tools`
//! allows (`name`) or denies (`-name`) tools by name. A tool left out is not listed and calling it is
//! answered exactly like an unknown tool; an unknown name in `--tools` fails startup.
#![allow(clippy::unwrap_used)]

mod common;
mod write_support;

use common::{Harness, test_args};
use notion_mcp_remote::app;
use notion_mcp_remote::config::Settings;
use serde_json::{Value, json};
use write_support::{T, fixture};

async fn listed(h: &Harness) -> Vec<Value> {
    let v = h.rpc(Some(T), "tools/list", json!({})).await;
    v["result"]["tools"].as_array().unwrap().clone()
}

fn names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// The JSON-RPC error of calling `tool`, with the tool's name replaced so errors can be compared.
async fn call_error(h: &Harness, tool: &str, args: Value) -> Value {
    let v = h
        .rpc(
            Some(T),
            "tools/call",
            json!({"name": tool, "arguments": args}),
        )
        .await;
    let mut e = v["error"].clone();
    assert!(e.is_object(), "{tool} should be refused as unknown: {v}");
    let msg = e["message"].as_str().unwrap().replace(tool, "<tool>");
    e["message"] = json!(msg);
    e
}

#[tokio::test]
async fn read_only_hides_and_refuses_write_tools() {
    let everything = Harness::start(fixture()).await;
    let all = listed(&everything).await;
    everything.shutdown().await;

    let h = Harness::start_with(fixture(), |a| a.read_only = true).await;
    let tools = listed(&h).await;
    assert!(
        !tools.is_empty() && tools.len() < all.len(),
        "{}",
        tools.len()
    );
    for t in &tools {
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
    }
    let shown = names(&tools);
    assert!(shown.contains(&"fetch".into()) && !shown.contains(&"create_page".into()));
    let before = h.fake().requests().len();
    let hidden = call_error(
        &h,
        "create_page",
        json!({"parent": "workspace", "title": "x"}),
    )
    .await;
    let unknown = call_error(&h, "no_such_tool", json!({})).await;
    assert_eq!(hidden, unknown);
    assert!(
        hidden["message"].as_str().unwrap().contains("unknown tool"),
        "{hidden}"
    );
    assert_eq!(h.fake().requests().len(), before, "nothing reached Notion");
    // Reads still work.
    let r = h.call(T, "search", json!({"query": "Home"})).await;
    assert_ne!(r["isError"], true, "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn tools_allow_and_deny_by_name() {
    let h = Harness::start_with(fixture(), |a| {
        a.tools = vec!["search".into(), "fetch".into(), "create_page".into()];
    })
    .await;
    assert_eq!(names(&listed(&h).await), ["search", "fetch", "create_page"]);
    let hidden = call_error(&h, "get_self", json!({})).await;
    assert_eq!(hidden, call_error(&h, "no_such_tool", json!({})).await);
    h.shutdown().await;

    let h = Harness::start_with(fixture(), |a| {
        a.tools = vec!["-create_page".into(), "-search".into()];
    })
    .await;
    let shown = names(&listed(&h).await);
    assert!(!shown.contains(&"create_page".into()) && !shown.contains(&"search".into()));
    assert!(shown.contains(&"fetch".into()) && shown.contains(&"update_page".into()));
    call_error(&h, "search", json!({"query": "x"})).await;
    h.shutdown().await;

    // Both: read-only removes writes even when allowed by name.
    let h = Harness::start_with(fixture(), |a| {
        a.read_only = true;
        a.tools = vec!["fetch".into(), "create_page".into()];
    })
    .await;
    assert_eq!(names(&listed(&h).await), ["fetch"]);
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_tool_names_fail_startup_naming_them() {
    let mut args = test_args();
    args.tools = vec!["search".into(), "serch".into(), "-fecth".into()];
    let settings = Settings::from_args(args).unwrap();
    let err = match app::build(settings, None).await {
        Ok(_) => panic!("startup should fail"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("--tools names unknown tools: serch, fecth"),
        "{err}"
    );
}
