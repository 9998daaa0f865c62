//! Tests for the block renderer, on fixtures shaped like Notion API block objects.
#![allow(clippy::unwrap_used)]

use super::*;
use notion_model::types::Block;
use serde_json::json;

fn rt(text: &str) -> Value {
    json!([{"type":"text","text":{"content":text,"link":null},
            "annotations":{"bold":false,"italic":false,"strikethrough":false,"underline":false,
                           "code":false,"color":"default"},
            "plain_text":text,"href":null}])
}

/// A block of `kind` with `payload` under its type key.
fn block(id: &str, kind: &str, payload: Value) -> Block {
    serde_json::from_value(
        json!({"object":"block","id":id,"type":kind,"has_children":false,
        "in_trash":false, kind: payload}),
    )
    .unwrap()
}

fn leaf(id: &str, kind: &str, payload: Value) -> BlockNode {
    BlockNode {
        block: Some(block(id, kind, payload)),
        children: vec![],
        children_omitted: false,
    }
}

fn with(mut n: BlockNode, children: Vec<BlockNode>) -> BlockNode {
    n.children = children;
    n
}

fn text_block(id: &str, kind: &str, text: &str) -> BlockNode {
    leaf(id, kind, json!({"rich_text": rt(text), "color":"default"}))
}

fn md(nodes: &[BlockNode]) -> String {
    blocks(nodes, &RenderOptions::default()).markdown
}

#[test]
fn paragraphs_headings_and_colors() {
    let nodes = vec![
        text_block("1", "paragraph", "Hello *world*"),
        leaf(
            "2",
            "heading_1",
            json!({"rich_text": rt("Title"),"is_toggleable":false,"color":"default"}),
        ),
        leaf(
            "3",
            "heading_2",
            json!({"rich_text": rt("Red"),"color":"red_background"}),
        ),
        text_block("4", "heading_3", "H3"),
        text_block("5", "heading_4", "H4"),
        leaf(
            "6",
            "paragraph",
            json!({"rich_text": rt("# not a heading"),"color":"blue"}),
        ),
        text_block("7", "paragraph", ""),
        text_block("8", "paragraph", "line one\n- line two"),
    ];
    assert_eq!(
        md(&nodes),
        "Hello \\*world\\*\n\n# Title\n\n## Red {color=\"red_bg\"}\n\n### H3\n\n#### H4\n\n\
         \\# not a heading {color=\"blue\"}\n\nline one\n\\- line two\n"
    );
}

#[test]
fn paragraph_children_are_indented() {
    let nodes = vec![with(
        text_block("p", "paragraph", "parent"),
        vec![
            text_block("c1", "paragraph", "child"),
            text_block("c2", "paragraph", "child2"),
        ],
    )];
    assert_eq!(md(&nodes), "parent\n\tchild\n\n\tchild2\n");
}

#[test]
fn nested_lists_three_levels_and_todos() {
    let nodes = vec![
        with(
            text_block("a", "bulleted_list_item", "one"),
            vec![with(
                text_block("b", "numbered_list_item", "two"),
                vec![text_block("c", "bulleted_list_item", "three")],
            )],
        ),
        text_block("d", "bulleted_list_item", "four"),
        leaf(
            "e",
            "to_do",
            json!({"rich_text": rt("done"),"checked":true,"color":"default"}),
        ),
        leaf(
            "f",
            "to_do",
            json!({"rich_text": rt("open"),"checked":false}),
        ),
    ];
    assert_eq!(
        md(&nodes),
        "- one\n\t1. two\n\t\t- three\n- four\n- [x] done\n- [ ] open\n"
    );
}

#[test]
fn numbered_lists_restart_after_other_blocks() {
    let nodes = vec![
        text_block("1", "numbered_list_item", "a"),
        text_block("2", "numbered_list_item", "b"),
        text_block("3", "numbered_list_item", "c"),
        text_block("4", "paragraph", "break"),
        text_block("5", "numbered_list_item", "d"),
        text_block("6", "paragraph", ""),
        text_block("7", "numbered_list_item", "e"),
    ];
    assert_eq!(md(&nodes), "1. a\n2. b\n3. c\n\nbreak\n\n1. d\n\n1. e\n");
}

#[test]
fn code_with_backticks_is_fenced_longer_and_not_escaped() {
    let nodes = vec![
        leaf(
            "c",
            "code",
            json!({"rich_text": rt("let s = \"```\";\n*x* <y>\n"),"language":"rust","caption":[]}),
        ),
        leaf(
            "d",
            "code",
            json!({"rich_text": rt("plain"),"language":"plain text"}),
        ),
    ];
    assert_eq!(
        md(&nodes),
        "````rust\nlet s = \"```\";\n*x* <y>\n````\n\n```plain text\nplain\n```\n"
    );
}

#[test]
fn quote_callout_toggle_equation_divider() {
    let nodes = vec![
        leaf(
            "q",
            "quote",
            json!({"rich_text": rt("first\nsecond"),"color":"gray"}),
        ),
        with(
            leaf(
                "c",
                "callout",
                json!({"rich_text": rt("Note"),"icon":{"type":"emoji","emoji":"💡"},
                "color":"gray_background"}),
            ),
            vec![text_block("cc", "paragraph", "inside")],
        ),
        with(
            leaf(
                "t",
                "toggle",
                json!({"rich_text": rt("More"),"color":"default"}),
            ),
            vec![text_block("tc", "paragraph", "hidden")],
        ),
        leaf("e", "equation", json!({"expression":"a^2 + b^2"})),
        leaf("d", "divider", json!({})),
    ];
    assert_eq!(
        md(&nodes),
        "> first\n> second {color=\"gray\"}\n\n<callout icon=\"💡\" color=\"gray_bg\">\n\tNote\n\tinside\n</callout>\n\n\
         <details>\n<summary>More</summary>\n\thidden\n</details>\n\n$$\na^2 + b^2\n$$\n\n---\n"
    );
}

#[test]
fn toggle_tree_three_levels_and_toggle_heading() {
    let nodes = vec![
        with(
            text_block("t1", "toggle", "L1"),
            vec![with(
                text_block("t2", "toggle", "L2"),
                vec![with(
                    text_block("t3", "toggle", "L3"),
                    vec![text_block("p", "paragraph", "deep")],
                )],
            )],
        ),
        with(
            leaf(
                "h",
                "heading_2",
                json!({"rich_text": rt("Section"),"is_toggleable":true,"color":"blue"}),
            ),
            vec![text_block("hc", "paragraph", "body")],
        ),
    ];
    assert_eq!(
        md(&nodes),
        "<details>\n<summary>L1</summary>\n\t<details>\n\t<summary>L2</summary>\n\t\t<details>\n\
         \t\t<summary>L3</summary>\n\t\t\tdeep\n\t\t</details>\n\t</details>\n</details>\n\n\
         ## Section {toggle=\"true\" color=\"blue\"}\n\tbody\n"
    );
}

fn row(id: &str, cells: &[&str]) -> BlockNode {
    let cells: Vec<Value> = cells.iter().map(|c| rt(c)).collect();
    leaf(id, "table_row", json!({ "cells": cells }))
}

#[test]
fn tables_with_and_without_header() {
    let header = vec![with(
        leaf(
            "t",
            "table",
            json!({"table_width":2,"has_column_header":true,"has_row_header":false}),
        ),
        vec![
            row("r1", &["Name", "Qty"]),
            row("r2", &["a|b", "2"]),
            row("r3", &["c"]),
        ],
    )];
    let r = blocks(&header, &RenderOptions::default());
    assert_eq!(
        r.markdown,
        "| Name | Qty |\n|---|---|\n| a\\|b | 2 |\n| c | |\n"
    );
    assert_eq!(r.blocks_rendered, 4);
    let plain = vec![with(
        leaf(
            "t",
            "table",
            json!({"table_width":2,"has_column_header":false}),
        ),
        vec![row("r1", &["x", "y"])],
    )];
    assert_eq!(md(&plain), "| | |\n|---|---|\n| x | y |\n");
    let ids = blocks(
        &header,
        &RenderOptions {
            include_block_ids: true,
            max_chars: 0,
        },
    );
    assert_eq!(
        ids.markdown,
        "| Name | Qty | ^t ^r1 |\n|---|---|---|\n| a\\|b | 2 | ^r2 |\n| c | | ^r3 |\n"
    );
    let empty = vec![leaf("t", "table", json!({}))];
    assert_eq!(md(&empty), "| |\n|---|\n");
}

#[test]
fn columns_synced_and_pages() {
    let nodes = vec![
        with(
            leaf("cl", "column_list", json!({})),
            vec![
                with(
                    leaf("c1", "column", json!({})),
                    vec![text_block("a", "paragraph", "left")],
                ),
                with(
                    leaf("c2", "column", json!({})),
                    vec![text_block("b", "paragraph", "right")],
                ),
            ],
        ),
        with(
            leaf(
                "s",
                "synced_block",
                json!({"synced_from":{"type":"block_id","block_id":"orig"}}),
            ),
            vec![text_block("sa", "bulleted_list_item", "synced")],
        ),
        leaf(
            "11111111-2222-3333-4444-555555555555",
            "child_page",
            json!({"title":"Sub *page*"}),
        ),
        leaf("db", "child_database", json!({"title":""})),
        leaf(
            "l",
            "link_to_page",
            json!({"type":"page_id","page_id":"ab-cd"}),
        ),
        leaf(
            "l2",
            "link_to_page",
            json!({"type":"database_id","database_id":"ef"}),
        ),
    ];
    let r = blocks(&nodes, &RenderOptions::default());
    assert_eq!(
        r.markdown,
        "<columns>\n\t<column>\n\t\tleft\n\t</column>\n\n\t<column>\n\t\tright\n\t</column>\n</columns>\n\n\
         - synced\n\n<page url=\"https://www.notion.so/11111111222233334444555555555555\">Sub \\*page\\*</page>\n\n\
         <database url=\"https://www.notion.so/db\">Untitled</database>\n\n\
         [page](https://www.notion.so/abcd)\n\n[database](https://www.notion.so/ef)\n"
    );
    assert_eq!(r.blocks_rendered, 11);
}

#[test]
fn links_and_media() {
    let file = |url: &str| json!({"type":"file","file":{"url":url,"expiry_time":"t"},"caption":[]});
    let nodes = vec![
        leaf(
            "b",
            "bookmark",
            json!({"url":"https://x.io/a","caption":[]}),
        ),
        leaf(
            "e",
            "embed",
            json!({"url":"https://y.io","caption": rt("Video site")}),
        ),
        leaf("lp", "link_preview", json!({"url":"https://gh.io/pr 1"})),
        leaf(
            "i",
            "image",
            json!({"type":"external","external":{"url":"https://img.io/a.png"},"caption": rt("Cat")}),
        ),
        leaf("v", "video", file("https://s3/v.mp4")),
        leaf(
            "a",
            "audio",
            json!({"type":"external","external":{"url":"https://a.io/x.mp3"},"caption": rt("Song")}),
        ),
        leaf(
            "p",
            "pdf",
            json!({"type":"file_upload","file_upload":{"id":"fu-1"}}),
        ),
        leaf(
            "f",
            "file",
            json!({"type":"file","file":{"url":"https://s3/f.zip"},"caption":[],"name":"f.zip"}),
        ),
        leaf("i2", "image", json!({})),
    ];
    assert_eq!(
        md(&nodes),
        "<https://x.io/a>\n\n[Video site](https://y.io)\n\n[https://gh.io/pr 1](https://gh.io/pr%201)\n\n\
         ![Cat](https://img.io/a.png)\n\n<video src=\"https://s3/v.mp4\"/>\n\n\
         <audio src=\"https://a.io/x.mp3\">Song</audio>\n\n<pdf src=\"file_upload://fu-1\"/>\n\n\
         <file src=\"https://s3/f.zip\">f.zip</file>\n\n![]()\n"
    );
}

#[test]
fn placeholders_and_unknown_blocks() {
    let nodes = vec![
        leaf("bc", "breadcrumb", json!({})),
        leaf("toc", "table_of_contents", json!({"color":"default"})),
        with(
            text_block("tp", "template", "Add task"),
            vec![text_block("x", "to_do", "new")],
        ),
        leaf(
            "m",
            "meeting_notes",
            json!({"title": rt("Standup"),"status":"done",
            "children":{"summary_block_id":"s1","notes_block_id":"n1","transcript_block_id":null}}),
        ),
        leaf("tr", "transcription", json!({})),
        leaf("u", "unsupported", json!({"block_type":"form"})),
        with(
            leaf("z", "future_thing", json!({"rich_text": rt("text kept")})),
            vec![text_block("zc", "paragraph", "kid")],
        ),
        BlockNode {
            block: Some(serde_json::from_value(json!({"id":"w"})).unwrap()),
            children: vec![],
            children_omitted: false,
        },
    ];
    assert_eq!(
        md(&nodes),
        "<breadcrumb/>\n\n<table_of_contents/>\n\n<template>Add task</template>\n\t- [ ] new\n\n\
         <meeting_notes id=\"m\" summary_block_id=\"s1\" notes_block_id=\"n1\">Standup</meeting_notes>\n\n\
         <transcription id=\"tr\"/>\n\n<unknown type=\"form\" id=\"u\"/>\n\n\
         <unknown type=\"future_thing\" id=\"z\">text kept</unknown>\n\tkid\n\n<unknown type=\"\" id=\"w\"/>\n"
    );
}

#[test]
fn omitted_children_get_a_fetch_marker() {
    let mut t = text_block("t1", "toggle", "Closed");
    t.children_omitted = true;
    let mut s = leaf("s", "synced_block", json!({"synced_from":null}));
    s.children_omitted = true;
    let root = BlockNode {
        block: None,
        children: vec![t, s],
        children_omitted: true,
    };
    assert_eq!(
        md(&[root]),
        "<details>\n<summary>Closed</summary>\n\t<!-- children not loaded: fetch id t1 -->\n</details>\n\
         <!-- children not loaded: fetch id s -->\n<!-- some blocks not loaded -->\n"
    );
}

#[test]
fn block_ids_as_anchors() {
    let opts = RenderOptions {
        include_block_ids: true,
        max_chars: 0,
    };
    let nodes = vec![
        leaf(
            "p1",
            "paragraph",
            json!({"rich_text": rt("Hi"),"color":"red"}),
        ),
        text_block("p2", "paragraph", ""),
        leaf("c", "code", json!({"rich_text": rt("x"),"language":"js"})),
        with(
            text_block("t", "toggle", "T"),
            vec![text_block("l", "bulleted_list_item", "item")],
        ),
        leaf("d", "divider", json!({})),
    ];
    assert_eq!(
        blocks(&nodes, &opts).markdown,
        "Hi {color=\"red\"} ^p1\n\n<empty-block/> ^p2\n\n```js ^c\nx\n```\n\n\
         <details>\n<summary>T</summary> ^t\n\t- item ^l\n</details>\n\n--- ^d\n"
    );
}

#[test]
fn truncation_stops_at_a_block_boundary_and_closes_tags() {
    let nodes: Vec<BlockNode> = (0..10)
        .map(|i| text_block(&format!("b{i}"), "paragraph", "0123456789"))
        .collect();
    let r = blocks(
        &nodes,
        &RenderOptions {
            include_block_ids: false,
            max_chars: 40,
        },
    );
    assert!(r.truncated);
    assert_eq!(r.markdown, "0123456789\n\n0123456789\n\n0123456789\n");
    assert_eq!(r.blocks_rendered, 3);
    assert!(r.markdown.chars().count() <= 40);

    let toggle = vec![with(
        text_block("t", "toggle", "T"),
        (0..10)
            .map(|i| text_block(&format!("c{i}"), "paragraph", "abcdefghij"))
            .collect(),
    )];
    let r = blocks(
        &toggle,
        &RenderOptions {
            include_block_ids: false,
            max_chars: 60,
        },
    );
    assert!(r.truncated);
    assert!(r.markdown.ends_with("</details>\n"), "{}", r.markdown);
    assert!(r.markdown.chars().count() <= 60);

    let full = blocks(
        &nodes,
        &RenderOptions {
            include_block_ids: false,
            max_chars: 0,
        },
    );
    assert!(!full.truncated);
    assert_eq!(full.blocks_rendered, 10);
}

#[test]
fn empty_and_odd_inputs_do_not_panic() {
    assert_eq!(blocks(&[], &RenderOptions::default()), Rendered::default());
    let odd = vec![
        BlockNode::default(),
        leaf("x", "paragraph", json!("not an object")),
        leaf("y", "heading_1", json!(null)),
        leaf("z", "table", json!({"table_width": -3})),
        leaf(
            "c",
            "callout",
            json!({"icon":{"type":"external","external":{"url":"u"}},"rich_text":[1,2]}),
        ),
        leaf("q", "quote", json!({})),
        leaf("k", "code", json!({"rich_text": rt("```")})),
        leaf("ê", "link_to_page", json!({})),
    ];
    let r = blocks(&odd, &RenderOptions::default());
    assert!(!r.truncated);
    assert_eq!(
        r.markdown,
        "# \n\n| |\n|---|\n\n<callout>\n</callout>\n\n>\n\n````\n```\n````\n\n<unknown type=\"link_to_page\" id=\"ê\"/>\n"
    );
    // A very deep chain is cut with a marker instead of recursing without bound.
    let mut deep = text_block("leaf", "paragraph", "x");
    for i in 0..200 {
        deep = with(text_block(&format!("n{i}"), "toggle", "t"), vec![deep]);
    }
    let r = blocks(std::slice::from_ref(&deep), &RenderOptions::default());
    assert!(r.markdown.contains("children not loaded"));
}

#[test]
fn a_paragraph_opening_in_bold_renders_plain_emphasis_and_parses_back() {
    let mut bold = rt("Bold")[0].clone();
    bold["annotations"]["bold"] = json!(true);
    let rest = rt(" rest")[0].clone();
    let nodes = vec![
        leaf(
            "1",
            "paragraph",
            json!({"rich_text": [bold, rest], "color":"default"}),
        ),
        text_block("2", "bulleted_list_item", "item"),
    ];
    let out = md(&nodes);
    assert_eq!(out, "**Bold** rest\n\n- item\n");
    let parsed = crate::markdown_to_blocks(&out).unwrap();
    assert_eq!(parsed[0]["type"], "paragraph");
    let runs = &parsed[0]["paragraph"]["rich_text"];
    assert_eq!(runs[0]["text"]["content"], "Bold");
    assert_eq!(runs[0]["annotations"]["bold"], true);
    assert_eq!(runs[1]["text"]["content"], " rest");
}
