//! Unit tests of the Markdown → blocks converter.
#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::{Value, json};

fn parse(md: &str) -> Vec<Value> {
    markdown_to_blocks(md).unwrap()
}

fn text(content: &str) -> Value {
    json!({"type": "text", "text": {"content": content}})
}

#[test]
fn paragraphs_and_inline_styles() {
    let b = parse("Hello **bold** *it* ~~s~~ `c` [l](https://x.io) $E$");
    assert_eq!(b.len(), 1);
    let rt = &b[0]["paragraph"]["rich_text"];
    assert_eq!(rt[0], text("Hello "));
    assert_eq!(rt[1]["annotations"], json!({"bold": true}));
    assert_eq!(rt[3]["annotations"], json!({"italic": true}));
    assert_eq!(rt[5]["annotations"], json!({"strikethrough": true}));
    assert_eq!(rt[7]["annotations"], json!({"code": true}));
    assert_eq!(rt[9]["text"]["link"]["url"], "https://x.io");
    assert_eq!(
        rt[11],
        json!({"type": "equation", "equation": {"expression": "E"}})
    );
}

fn kinds(b: &[Value]) -> Vec<&str> {
    b.iter().map(|x| x["type"].as_str().unwrap()).collect()
}

#[test]
fn block_kinds_and_nesting() {
    let md = "# H {toggle=\"true\" color=\"red\"}\n\tkid\n\n##### deep\n\n- a\n  - b\n\n1) n\n\n\
              - [x] done\n\n> q1\n>\n> q2\n\n```ts\nlet x;\n```\n\n$$\nx\n$$\n\n---\n\n\
              | a | b |\n|---|---|\n| 1 | 2\\|3 |\n\n<details>\n<summary>S</summary>\n\tin\n</details>\n\n\
              <callout icon=\"💡\" color=\"gray_bg\">\n\tText\n\t- child\n</callout>\n\n\
              ![cap](https://i.io/x.png)\n\n<https://b.io>\n\n<empty-block/>\n\n<!-- note -->\n\n\
              text ^59833787-2cf9-4fdf-8782-e53db20768a5";
    let b = parse(md);
    assert_eq!(
        kinds(&b),
        [
            "heading_1",
            "heading_4",
            "bulleted_list_item",
            "numbered_list_item",
            "to_do",
            "quote",
            "code",
            "equation",
            "divider",
            "table",
            "toggle",
            "callout",
            "image",
            "bookmark",
            "paragraph",
            "paragraph"
        ]
    );
    assert_eq!(b[0]["heading_1"]["is_toggleable"], true);
    assert_eq!(b[0]["heading_1"]["color"], "red");
    assert_eq!(
        b[2]["bulleted_list_item"]["children"][0]["type"],
        "bulleted_list_item"
    );
    assert_eq!(b[4]["to_do"]["checked"], true);
    assert_eq!(b[5]["quote"]["rich_text"][0], text("q1\n\nq2"));
    assert_eq!(b[6]["code"]["language"], "typescript");
    assert_eq!(b[9]["table"]["has_column_header"], true);
    assert_eq!(
        b[9]["table"]["children"][1]["table_row"]["cells"][1][0],
        text("2|3")
    );
    assert_eq!(
        b[10]["toggle"]["children"][0]["paragraph"]["rich_text"][0],
        text("in")
    );
    assert_eq!(b[11]["callout"]["rich_text"][0], text("Text"));
    assert_eq!(b[11]["callout"]["color"], "gray_background");
    assert_eq!(
        b[11]["callout"]["children"][0]["type"],
        "bulleted_list_item"
    );
    assert_eq!(b[12]["image"]["external"]["url"], "https://i.io/x.png");
    assert_eq!(b[13]["bookmark"]["url"], "https://b.io");
    assert_eq!(b[15]["paragraph"]["rich_text"][0], text("text"));
}

#[test]
fn inline_tags_mentions_and_escapes() {
    let b = parse(
        "\\**b** <span underline=\"true\" color=\"red_bg\">u</span> \
         [@A](user://598337872cf94fdf8782e53db20768a5) <mention-date start=\"2024-01-01\"/> \
         [P](https://www.notion.so/598337872cf94fdf8782e53db20768a5) a<br>b \\*lit\\*",
    );
    let rt = b[0]["paragraph"]["rich_text"].as_array().unwrap();
    assert_eq!(rt[0]["annotations"], json!({"bold": true}));
    assert_eq!(
        rt[2]["annotations"],
        json!({"underline": true, "color": "red_background"})
    );
    assert_eq!(
        rt[4]["mention"]["user"]["id"],
        "59833787-2cf9-4fdf-8782-e53db20768a5"
    );
    assert_eq!(rt[6]["mention"]["date"]["start"], "2024-01-01");
    assert_eq!(rt[8]["mention"]["type"], "page");
    assert_eq!(rt[9], text(" a\nb *lit*"));
}

#[test]
fn limits_split_long_text_and_many_items() {
    let long = "é".repeat(4500);
    let b = parse(&long);
    let rt = b[0]["paragraph"]["rich_text"].as_array().unwrap();
    assert_eq!(rt.len(), 3);
    let many: String = (0..150).map(|i| format!("w{i} **b** ")).collect();
    let b = parse(&many);
    assert_eq!(kinds(&b), ["paragraph", "paragraph", "paragraph"]);
    assert!(
        b.iter()
            .all(|p| p["paragraph"]["rich_text"].as_array().unwrap().len() <= 100)
    );
    let url = format!("[x](https://x.io/{})", "a".repeat(2001));
    assert_eq!(
        markdown_to_blocks(&url).unwrap_err(),
        MarkdownError::UrlTooLong { line: 1 }
    );
}
