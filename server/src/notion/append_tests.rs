//! Unit tests of request splitting and bodies for block appends.
#![allow(clippy::unwrap_used)]

use super::*;

fn para(text: &str, children: Vec<Value>) -> Value {
    let mut data = json!({"rich_text": [{"type": "text", "text": {"content": text}}]});
    if !children.is_empty() {
        data["children"] = Value::Array(children);
    }
    json!({"type": "paragraph", "paragraph": data})
}

fn items(blocks: Vec<Value>) -> VecDeque<Item> {
    blocks.into_iter().map(|b| Item::from_json(b, 0)).collect()
}

#[test]
fn batches_respect_children_and_levels() {
    let many: Vec<Value> = (0..250).map(|i| para(&i.to_string(), vec![])).collect();
    let mut rest = items(many);
    let b1 = next_batch(&mut rest);
    assert_eq!(b1.len(), 100);
    assert_eq!(rest.len(), 150);

    // A block with leaf children sends them along; grandchildren wait for a later request.
    let deep = para(
        "top",
        vec![
            para("leaf", vec![]),
            para("has kids", vec![para("grandchild", vec![])]),
            para("after", vec![]),
        ],
    );
    let mut rest = items(vec![deep]);
    let b = next_batch(&mut rest);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].included, 1);
    assert_eq!(b[0].deferred.len(), 2);
    let kids = b[0].json["paragraph"]["children"].as_array().unwrap();
    assert_eq!(kids.len(), 1);
    assert!(kids[0]["paragraph"].get("children").is_none());
}

#[test]
fn batches_respect_block_and_size_totals() {
    let wide: Vec<Value> = (0..20)
        .map(|i| {
            let kids = (0..100)
                .map(|k| para(&format!("{i}.{k}"), vec![]))
                .collect();
            para("parent", kids)
        })
        .collect();
    let mut rest = items(wide);
    let b = next_batch(&mut rest);
    let total: usize = b.iter().map(|s| 1 + s.included).sum();
    assert!(total <= MAX_BLOCKS_PER_REQUEST, "{total}");
    let big = "x".repeat(1900);
    let heavy: Vec<Value> = (0..100)
        .map(|_| {
            let rt: Vec<Value> = (0..10)
                .map(|_| json!({"type": "text", "text": {"content": big}}))
                .collect();
            json!({"type": "paragraph", "paragraph": {"rich_text": rt}})
        })
        .collect();
    let mut rest = items(heavy);
    let b = next_batch(&mut rest);
    let (body, _) = request_body(&b, None, NotionVersion::V2026_03_11);
    assert!(serde_json::to_vec(&body).unwrap().len() <= 500 * 1024);
    assert!(b.len() < 100 && !rest.is_empty());
}

#[test]
fn tables_start_their_own_request() {
    let table = json!({"type": "table", "table": {"table_width": 1, "has_column_header": false,
        "children": [{"type": "table_row", "table_row": {"cells": [[]]}}]}});
    let mut rest = items(vec![para("p", vec![table.clone()]), table]);
    let b = next_batch(&mut rest);
    assert_eq!(b[0].included, 0);
    assert_eq!(b[0].deferred.len(), 1);
    assert_eq!(b[1].included, 1);
}

#[test]
fn positions_per_version() {
    let batch = vec![Sent {
        json: para("x", vec![]),
        included: 0,
        deferred: vec![],
        columns: vec![],
    }];
    let after = AppendPosition::AfterBlock("b1".into());
    let (body, v) = request_body(&batch, Some(&after), NotionVersion::V2025_09_03);
    assert_eq!(body["after"], "b1");
    assert!(body.get("position").is_none());
    assert_eq!(v, NotionVersion::V2025_09_03);
    let (body, _) = request_body(&batch, Some(&after), NotionVersion::V2026_03_11);
    assert_eq!(body["position"]["after_block"]["id"], "b1");
    let (body, v) = request_body(
        &batch,
        Some(&AppendPosition::Start),
        NotionVersion::V2025_09_03,
    );
    assert_eq!(body["position"]["type"], "start");
    assert_eq!(v, NotionVersion::V2026_03_11);
    let (body, _) = request_body(&batch, None, NotionVersion::V2026_03_11);
    assert!(body.get("position").is_none() && body.get("after").is_none());
}

#[test]
fn progress_is_named_in_errors() {
    let done = AppendOutcome {
        first_level_ids: vec!["a".into()],
        requests: 2,
        blocks: 7,
    };
    let err = NotionError::Api {
        status: 503,
        code: "service_unavailable".into(),
        message: "busy".into(),
        request_id: None,
        retry_after: None,
        additional_data: Some(Box::new(json!({"committed_child_ids": ["n1", "n2"]}))),
    };
    let e = with_progress(err, &done, "p");
    let msg = e.to_string();
    assert!(msg.contains("7 blocks were already appended"), "{msg}");
    assert!(msg.contains("n1, n2"), "{msg}");
    assert_eq!(e.additional_data().unwrap()["appended_blocks"], 7);
    let untouched = with_progress(
        NotionError::invalid("x", "y"),
        &AppendOutcome::default(),
        "p",
    );
    assert_eq!(untouched.code(), "invalid_argument");
}

#[test]
fn markdown_update_bodies_are_checked() {
    let ok = MarkdownUpdate::Edits {
        content_updates: vec![ContentUpdate {
            old_str: "a".into(),
            new_str: "b".into(),
            replace_all_matches: true,
        }],
        allow_deleting_content: false,
    };
    let body = ok.body().unwrap();
    assert_eq!(body["type"], "update_content");
    assert_eq!(
        body["update_content"]["content_updates"][0]["replace_all_matches"],
        true
    );
    let empty = MarkdownUpdate::Edits {
        content_updates: vec![],
        allow_deleting_content: false,
    };
    assert_eq!(empty.body().unwrap_err().code(), "invalid_argument");
    let blank = MarkdownUpdate::Edits {
        content_updates: vec![ContentUpdate {
            old_str: String::new(),
            new_str: "b".into(),
            replace_all_matches: false,
        }],
        allow_deleting_content: true,
    };
    assert!(blank.body().unwrap_err().to_string().contains("old_str"));
    let replace = MarkdownUpdate::Replace {
        new_str: "# x".into(),
        allow_deleting_content: true,
    };
    assert_eq!(
        replace.body().unwrap()["replace_content"]["allow_deleting_content"],
        true
    );
}

fn column(children: Vec<Value>) -> Value {
    json!({"type": "column", "column": {"children": children}})
}

#[test]
fn column_lists_go_with_columns_and_their_first_children() {
    let table = json!({"type": "table", "table": {"table_width": 1, "has_column_header": false,
        "children": [{"type": "table_row", "table_row": {"cells": [[]]}}]}});
    let list = json!({"type": "column_list", "column_list": {"children": [
        column(vec![para("a", vec![para("deep", vec![])]), para("b", vec![])]),
        column(vec![table, para("after", vec![])]),
    ]}});
    let mut rest = items(vec![para("before", vec![]), list]);
    let b = next_batch(&mut rest);
    assert_eq!(b.len(), 2, "the column list shares the request");
    let cols = b[1].json["column_list"]["children"].as_array().unwrap();
    assert_eq!(cols.len(), 2);
    let left = cols[0]["column"]["children"].as_array().unwrap();
    assert_eq!(left.len(), 2);
    assert!(
        left[0]["paragraph"].get("children").is_none(),
        "deeper later"
    );
    // A table cannot sit two levels down with its rows: an empty paragraph stands in.
    let right = cols[1]["column"]["children"].as_array().unwrap();
    assert_eq!(right.len(), 1);
    assert_eq!(right[0]["paragraph"]["rich_text"], json!([]));
    assert_eq!(b[1].included, 2 + 2 + 1);
    assert!(b[1].deferred.is_empty());
    assert_eq!(b[1].columns.len(), 2);
    assert_eq!(b[1].columns[0].nested().len(), 1);
    assert!(b[1].columns[1].placeholder() && b[1].columns[1].rest().len() == 2);
}

#[test]
fn a_column_list_fills_a_request_or_starts_the_next() {
    let full: Vec<Value> = (0..9)
        .map(|_| {
            para(
                "p",
                (0..100).map(|k| para(&k.to_string(), vec![])).collect(),
            )
        })
        .collect();
    let list = json!({"type": "column_list", "column_list": {"children": [
        column((0..60).map(|k| para(&k.to_string(), vec![])).collect()),
        column((0..60).map(|k| para(&k.to_string(), vec![])).collect()),
    ]}});
    let mut all = full;
    all.push(list);
    let mut rest = items(all);
    let b = next_batch(&mut rest);
    let total: usize = b.iter().map(|s| 1 + s.included).sum();
    assert!(total <= MAX_BLOCKS_PER_REQUEST, "{total}");
    // 909 blocks leave room for the list with its two columns and some of their children.
    assert_eq!(b.len(), 10);
    let cols = b[9].json["column_list"]["children"].as_array().unwrap();
    let sent: usize = cols
        .iter()
        .map(|c| c["column"]["children"].as_array().unwrap().len())
        .sum();
    assert_eq!(909 + 3 + sent, total);
    assert!(
        cols.iter()
            .all(|c| !c["column"]["children"].as_array().unwrap().is_empty())
    );

    // With 998 blocks taken, the list (five blocks at the least) waits for the next request.
    let mut all: Vec<Value> = (0..9)
        .map(|_| {
            para(
                "p",
                (0..100).map(|k| para(&k.to_string(), vec![])).collect(),
            )
        })
        .collect();
    all.push(para(
        "q",
        (0..88).map(|k| para(&k.to_string(), vec![])).collect(),
    ));
    all.push(json!({"type": "column_list", "column_list": {"children": [
            column(vec![para("l", vec![])]), column(vec![para("r", vec![])])]}}));
    let mut rest = items(all);
    let b = next_batch(&mut rest);
    assert_eq!(b.iter().map(|s| 1 + s.included).sum::<usize>(), 998);
    assert_eq!(b.len(), 10);
    let next = next_batch(&mut rest);
    assert_eq!((next.len(), next[0].included), (1, 4));
}
