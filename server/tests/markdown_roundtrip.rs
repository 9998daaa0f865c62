//! Markdown round trips. Generated block trees are rendered to Markdown, parsed back, appended
//! to the Notion fake through our client (within Notion's per-request limits, checked on the
//! fake's request log), read back with the tree fetcher and rendered again.
//!
//! Markdown comparison normalises only trailing whitespace on each line and trailing blank lines
//! at the end; everything else must match exactly. Block comparison ignores `plain_text`/`href`
//! (read-only fields) and where adjacent text runs of the same style are split (the parser splits
//! runs longer than 2,000 characters).

#![allow(clippy::unwrap_used)]

#[path = "markdown_roundtrip/gen.rs"]
mod generator;

#[path = "markdown_roundtrip/columns.rs"]
mod columns;

use generator::{Gen, Targets};
use notion_fake::{FakeNotion, Fixture, PageFixture, RunningFake, stable_id};
use notion_markdown::json::nodes_from_json;
use notion_markdown::{RenderOptions, blocks, markdown_to_blocks};
use notion_mcp_remote::mcp::notion_data;
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::append::{
    AppendPosition, ContentUpdate, MarkdownUpdate, append_blocks, page_markdown,
    update_page_markdown,
};
use notion_mcp_remote::notion::client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion,
};
use notion_mcp_remote::notion::pacer::PacingConfig;
use notion_mcp_remote::notion::tree::{TreeLimits, fetch_block_tree};
use notion_model::types::BlockNode;
use serde_json::{Value, json};

const TOKEN: &str = "ntn_test";

fn render(nodes: &[BlockNode]) -> String {
    let opts = RenderOptions {
        include_block_ids: false,
        max_chars: 0,
    };
    blocks(nodes, &opts).markdown
}

fn render_json(b: &[Value]) -> String {
    render(&nodes_from_json(b))
}

/// The documented normalisation: trailing whitespace per line and at the end.
fn normalize(md: &str) -> String {
    let lines: Vec<&str> = md.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}

/// Equal strings, or a panic showing the first differing line.
fn assert_same(got: &str, want: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = (0..g.len().max(w.len()))
        .find(|&i| g.get(i) != w.get(i))
        .unwrap_or(0);
    let from = i.saturating_sub(3);
    panic!(
        "Markdown differs at line {}:\n--- got:\n{}\n--- want:\n{}",
        i + 1,
        g[from.min(g.len())..(i + 3).min(g.len())].join("\n"),
        w[from.min(w.len())..(i + 3).min(w.len())].join("\n")
    );
}

fn merge_items(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for it in items.iter().map(canon) {
        if let Some(last) = out.last_mut()
            && last["type"] == "text"
            && it["type"] == "text"
            && last.get("annotations") == it.get("annotations")
            && last["text"].get("link") == it["text"].get("link")
        {
            let joined = format!(
                "{}{}",
                last["text"]["content"].as_str().unwrap(),
                it["text"]["content"].as_str().unwrap()
            );
            last["text"]["content"] = json!(joined);
            continue;
        }
        out.push(it);
    }
    out
}

/// Block JSON without read-only fields, with adjacent same-style text runs merged.
fn canon(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                match k.as_str() {
                    "plain_text" | "href" => {}
                    "rich_text" | "caption" => {
                        out.insert(k.clone(), json!(merge_items(v.as_array().unwrap())));
                    }
                    "cells" => {
                        let cells: Vec<Value> = v
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| json!(merge_items(c.as_array().unwrap())))
                            .collect();
                        out.insert(k.clone(), json!(cells));
                    }
                    _ => {
                        out.insert(k.clone(), canon(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
        other => other.clone(),
    }
}

fn count(v: &[Value]) -> usize {
    v.iter()
        .map(|b| {
            let kind = b["type"].as_str().unwrap();
            1 + b[kind]["children"].as_array().map_or(0, |k| count(k))
        })
        .sum()
}

fn levels(v: &[Value]) -> usize {
    v.iter()
        .map(|b| {
            let kind = b["type"].as_str().unwrap();
            1 + b[kind]["children"].as_array().map_or(0, |k| levels(k))
        })
        .max()
        .unwrap_or(0)
}

fn max_text_units(v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("content", Value::String(s)) => s.encode_utf16().count(),
                _ => max_text_units(v),
            })
            .max()
            .unwrap_or(0),
        Value::Array(a) => a.iter().map(max_text_units).max().unwrap_or(0),
        _ => 0,
    }
}

fn targets() -> Targets {
    Targets {
        pages: vec![
            (stable_id("alpha").to_string(), "Alpha".into()),
            (stable_id("beta").to_string(), "Beta Page".into()),
        ],
        users: Vec::new(),
    }
}

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("Docs", TOKEN)
        .page(PageFixture::new("Doc").id("doc"))
        .page(PageFixture::new("Alpha").id("alpha"))
        .page(PageFixture::new("Beta Page").id("beta"))
        .page(
            PageFixture::new("Parent")
                .id("parent")
                .child(json!("intro"))
                .subpage(PageFixture::new("Child Page").id("child")),
        )
        .build()
}

async fn start() -> (RunningFake, NotionClient, NotionAuth, Targets) {
    let fake = FakeNotion::start(fixture()).await.unwrap();
    let cfg = ClientConfig {
        base_url: url::Url::parse(fake.base_url()).unwrap(),
        pacing: PacingConfig {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let client = NotionClient::new(cfg, Metrics::new()).unwrap();
    let auth = NotionAuth::new(TOKEN, NotionVersion::default());
    let mut t = targets();
    t.users = fake.with_state(|s| {
        s.users
            .values()
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect()
    });
    (fake, client, auth, t)
}

/// Every append request the fake saw: (children, serialised size).
fn append_requests(fake: &FakeNotion) -> Vec<(Vec<Value>, usize)> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == http::Method::PATCH && r.path.ends_with("/children"))
        .map(|r| {
            let body = r.body.unwrap_or(Value::Null);
            let size = serde_json::to_vec(&body).unwrap().len();
            (
                body["children"].as_array().cloned().unwrap_or_default(),
                size,
            )
        })
        .collect()
}

async fn read_back(client: &NotionClient, auth: &NotionAuth, id: &str) -> String {
    let limits = TreeLimits {
        max_blocks: 100_000,
        max_depth: 64,
        concurrency: 4,
    };
    let tree = fetch_block_tree(client, auth, id, limits, None)
        .await
        .unwrap();
    assert!(!tree.truncated);
    render(&tree.nodes)
}

#[test]
fn generated_trees_parse_back_exactly() {
    let t = targets();
    for seed in 1..=40u64 {
        let mut g = Gen::new(seed, &t);
        let doc = g.document(120);
        let md = render_json(&doc);
        let parsed = markdown_to_blocks(&md).unwrap();
        assert!(canon(&json!(parsed)) == canon(&json!(doc)), "seed {seed}");
        assert!(max_text_units(&json!(parsed)) <= 2000);
        // Mention labels come from Notion, so compare a second round: a fixed point.
        let md2 = render_json(&parsed);
        let again = render_json(&markdown_to_blocks(&md2).unwrap());
        assert!(
            again == md2,
            "seed {seed}: render(parse(md)) is a fixed point"
        );
    }
}

#[test]
fn hand_written_markdown_reaches_a_fixed_point_in_one_round() {
    let inputs = [
        "# Title\n\nSome *text* with __bold__ and a [link](https://x.io \"t\").\nSecond line.\n\n\
         * one\n  * nested\n    * deeper\n      * deepest\n* two\n\n1) first\n2) second\n\n\
         - [ ] open\n- [X] done\n\n> quoted\n> more\n\n```js\nconsole.log(1)\n```\n\n---\n\n\
         | h1 | h2 |\n| :-- | --: |\n| a | b |\n| c |\n\n$$E=mc^2$$\n\n\
         ::: callout {icon=\"⚠️\" color=\"red_bg\"}\nCareful\n- point\n:::\n\n\
         <details>\n<summary>More</summary>\nHidden text\n</details>\n\n\
         ##### Deep heading\n\n![An image](https://img.example/a.png)\n\n<https://example.com>\n\n\
         <page url=\"https://www.notion.so/Alpha-598337872cf94fdf8782e53db20768a5\">Alpha</page>\n\n\
         Text with <u>under</u>, <span color=\"blue\">blue</span>, $x^2$ and ~~gone~~.\n\n\
         <!-- children not loaded: fetch id abc -->\n<empty-block/>\n<unknown type=\"x\" id=\"y\"/>",
        "Paragraph\n\tchild one\n\tchild two\n\n## Toggle {toggle=\"true\"}\n\tinside\n\n\
         <callout icon=\"💡\">\n\tText\n\t- a\n\t- b\n</callout>\n\n<columns>\n\t<column>\n\t\tLeft\n\
         \t</column>\n\t<column>\n\t\tRight\n\t</column>\n</columns>",
        "**Bold start** then text\n\n*Italic start*\n\n- **Term**: definition\n\n\\*literal star",
        "Mentions [@Ann](user://598337872cf94fdf8782e53db20768a5) <mention-date start=\"2024-01-01\"/> \
         [Page](https://www.notion.so/598337872cf94fdf8782e53db20768a5) and \
         <mention-page url=\"https://www.notion.so/598337872cf94fdf8782e53db20768a5\">P</mention-page>",
    ];
    for md in inputs {
        let once = render_json(&markdown_to_blocks(md).unwrap());
        let twice = render_json(&markdown_to_blocks(&once).unwrap());
        assert_eq!(once, twice, "input:\n{md}");
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = generator::Rng::new(7);
    let pieces = [
        "#",
        "- ",
        "1. ",
        "> ",
        "```",
        "~~~",
        "$$",
        "|",
        "---",
        "<details>",
        "</details>",
        "<summary>",
        "<callout>",
        "</callout>",
        "<columns>",
        "<column>",
        "\t",
        "  ",
        "\n",
        "\n\n",
        "*",
        "**",
        "_",
        "`",
        "[",
        "](",
        ")",
        "<span color=\"red\">",
        "</span>",
        "<br>",
        "{",
        "}",
        "^",
        "\\",
        "é",
        "🙂",
        "::: callout",
        ":::",
        "<!--",
        "-->",
        "![",
        "<https://x",
        "&amp;",
        "text",
        "[ ] ",
        "<mention-date start=\"x\"/>",
        "\r\n",
        "\u{2007}",
        "\u{0}",
    ];
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..rng.below(40) {
            s.push_str(rng.pick(&pieces));
        }
        if let Ok(b) = markdown_to_blocks(&s) {
            let _ = render_json(&b);
        }
    }
    let deep: String = (0..200)
        .map(|i| format!("{}- x\n", "\t".repeat(i)))
        .collect();
    assert!(markdown_to_blocks(&deep).is_err());
    let long_eq = format!("$${}$$", "x".repeat(1001));
    assert!(markdown_to_blocks(&long_eq).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_document_round_trips_through_the_fake() {
    let (fake, client, auth, t) = start().await;
    let mut g = Gen::new(2026, &t);
    let doc = g.document(3000);
    assert!(g.count >= 3000, "{}", g.count);
    let md = render_json(&doc);
    let parsed = markdown_to_blocks(&md).unwrap();
    assert_eq!(canon(&json!(parsed)), canon(&json!(doc)));
    let total = count(&parsed);
    assert!(total >= 3000, "{total}");
    assert!(levels(&parsed) >= 4, "nesting deeper than two levels");

    fake.reset_log();
    let page = stable_id("doc").to_string();
    let out = append_blocks(&client, &auth, &page, parsed.clone(), AppendPosition::End)
        .await
        .unwrap();
    assert_eq!(out.blocks, total);
    assert_eq!(out.first_level_ids.len(), parsed.len());
    let sent = append_requests(&fake);
    assert_eq!(sent.len(), out.requests);
    assert!(out.requests > 10, "{} requests", out.requests);
    for (children, size) in &sent {
        assert!(children.len() <= 100);
        assert!(levels(children) <= 2, "at most two levels per request");
        assert!(count(children) <= 1000);
        assert!(*size <= 500 * 1024);
    }
    assert_eq!(fake.count_status(400), 0);
    let back = read_back(&client, &auth, &page).await;
    assert_same(&normalize(&back), &normalize(&md));
    println!(
        "round trip: {total} blocks, {} top-level, {} requests, {} bytes of Markdown",
        parsed.len(),
        out.requests,
        md.len()
    );
    // Marking the page as Notion data costs well under 1 % of its bytes, as Markdown and as JSON.
    let as_json = serde_json::to_string(&parsed).unwrap();
    for (format, text) in [("Markdown", &back), ("JSON", &as_json)] {
        let cost = notion_data::wrap(text).len() - text.len();
        assert!(cost * 100 < text.len(), "{format}: {cost} bytes");
        println!(
            "<notion-data> on the {total}-block page as {format}: +{cost} bytes on {} ({:.4} %)",
            text.len(),
            cost as f64 * 100.0 / text.len() as f64
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn siblings_in_the_thousands_keep_order_at_any_position() {
    let (fake, client, auth, _) = start().await;
    let page = stable_id("doc").to_string();
    let first = markdown_to_blocks("First\n\nLast").unwrap();
    let out = append_blocks(&client, &auth, &page, first, AppendPosition::End)
        .await
        .unwrap();
    let many: String = (0..1200).map(|i| format!("p{i}\n\n")).collect();
    let blocks_in = markdown_to_blocks(&many).unwrap();
    fake.reset_log();
    let res = append_blocks(
        &client,
        &auth,
        &page,
        blocks_in,
        AppendPosition::AfterBlock(out.first_level_ids[0].clone()),
    )
    .await
    .unwrap();
    assert_eq!(res.requests, 12);
    assert_eq!(res.first_level_ids.len(), 1200);
    let bodies = append_requests(&fake);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.body.as_ref().is_some_and(|b| b.get("position").is_some()))
            .count(),
        12
    );
    assert_eq!(bodies.len(), 12);
    let back = read_back(&client, &auth, &page).await;
    let expected = format!("First\n\n{many}Last");
    assert_eq!(normalize(&back), normalize(&expected));

    // At the start, with legacy Notion-Version 2025-09-03 for the follow-ups.
    let legacy = auth.clone().with_version(NotionVersion::V2025_09_03);
    let head: String = (0..150).map(|i| format!("h{i}\n\n")).collect();
    fake.reset_log();
    append_blocks(
        &client,
        &legacy,
        &page,
        markdown_to_blocks(&head).unwrap(),
        AppendPosition::Start,
    )
    .await
    .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs[0].notion_version(), Some("2026-03-11"));
    assert!(reqs[1].body.as_ref().unwrap().get("after").is_some());
    let back = read_back(&client, &auth, &page).await;
    assert!(normalize(&back).starts_with(&normalize(&format!("{head}First"))));

    // 1,050 children under one toggle: 100 in the first request, the rest in follow-ups.
    let kids: String = (0..1050).map(|i| format!("\t- k{i}\n")).collect();
    let toggle = format!("<details>\n<summary>Big</summary>\n{kids}</details>");
    let parsed = markdown_to_blocks(&toggle).unwrap();
    let res = append_blocks(&client, &auth, &page, parsed, AppendPosition::End)
        .await
        .unwrap();
    assert_eq!((res.blocks, res.requests), (1051, 11));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_endpoints_on_the_fake() {
    let (fake, client, auth, _) = start().await;
    let parent = stable_id("parent").to_string();
    let child = stable_id("child").simple().to_string();
    let pm = page_markdown(&client, &auth, &parent).await.unwrap();
    assert_eq!(
        pm.markdown,
        format!("intro\n\n<page url=\"https://www.notion.so/{child}\">Child Page</page>\n")
    );
    assert!(!pm.truncated && pm.unknown_block_ids.is_empty());
    let reqs = fake.requests();
    let last = reqs.last().unwrap();
    assert_eq!(last.notion_version(), Some(auth.version.as_str()));
    assert!(
        last.query
            .as_deref()
            .unwrap()
            .contains("markdown_version=v2")
    );

    // Search and replace: exact matches, all or nothing.
    let edit = |old: &str, new: &str, all: bool| MarkdownUpdate::Edits {
        content_updates: vec![ContentUpdate {
            old_str: old.into(),
            new_str: new.into(),
            replace_all_matches: all,
        }],
        allow_deleting_content: false,
    };
    let pm = update_page_markdown(
        &client,
        &auth,
        &parent,
        edit("intro", "**Intro** text", false),
    )
    .await
    .unwrap();
    assert!(
        pm.markdown.contains("**Intro** text\n\n<page"),
        "{}",
        pm.markdown
    );
    let err = update_page_markdown(&client, &auth, &parent, edit("absent", "x", false))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), "validation_error"));

    // Replacing everything would delete the child page: refused without the flag.
    let replace = |allow: bool| MarkdownUpdate::Replace {
        new_str: "# New\n\n- a\n- b".into(),
        allow_deleting_content: allow,
    };
    let err = update_page_markdown(&client, &auth, &parent, replace(false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allow_deleting_content"), "{err}");
    let pm = update_page_markdown(&client, &auth, &parent, replace(true))
        .await
        .unwrap();
    assert_eq!(pm.markdown, "# New\n\n- a\n- b\n");

    // A page created from Markdown takes its title from the first `# h1`.
    let body = json!({"parent": {"page_id": stable_id("doc").to_string()},
                      "markdown": "# From MD\n\nBody *text*\n\n- item", "markdown_version": "v2"});
    let page = client
        .send(
            &auth,
            NotionRequest::post("POST /v1/pages", "/v1/pages").json(body),
        )
        .await
        .unwrap();
    assert_eq!(
        page["properties"]["title"]["title"][0]["plain_text"],
        "From MD"
    );
    let pm = page_markdown(&client, &auth, page["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(pm.markdown, "Body *text*\n\n- item\n");
}
