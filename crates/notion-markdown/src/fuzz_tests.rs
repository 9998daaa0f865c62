//! Randomised no-panic checks: every renderer and `slim` on arbitrary Notion-like JSON, with a
//! deterministic generator so failures reproduce.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};
use std::sync::LazyLock;

use super::*;
use notion_model::slim::slim;
use notion_model::types::{Block, BlockNode, DataSource, Database, Page, PropertyValue, User};

/// xorshift64*: small, deterministic, good enough to explore shapes.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Every block type Notion knows, and two it does not.
static BLOCK_KINDS: LazyLock<Vec<&str>> = LazyLock::new(|| {
    notion_model::block_kinds::all()
        .chain(["", "weird"])
        .collect()
});

/// Every property type Notion knows, and two it does not.
static PROPERTY_KINDS: LazyLock<Vec<&str>> = LazyLock::new(|| {
    let known = notion_model::property_kinds::PROPERTY_TYPES.iter().copied();
    known.chain(["location", "mystery"]).collect()
});

const KEYS: &[&str] = &[
    "type",
    "id",
    "name",
    "rich_text",
    "text",
    "content",
    "link",
    "url",
    "plain_text",
    "href",
    "annotations",
    "bold",
    "code",
    "color",
    "mention",
    "user",
    "page",
    "date",
    "start",
    "end",
    "expression",
    "cells",
    "caption",
    "icon",
    "emoji",
    "external",
    "file",
    "file_upload",
    "language",
    "checked",
    "is_toggleable",
    "has_column_header",
    "table_width",
    "title",
    "number",
    "array",
    "prefix",
    "options",
    "object",
    "request_id",
    "in_trash",
    "synced_from",
    "block_id",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "*_#|<`$\\",
    "```",
    "\n",
    "🙂\u{200d}",
    "é\u{301}",
    "\u{0}",
    "default",
    "red_background",
    "text",
    "mention",
    "equation",
    "user",
    "page",
    "date",
    "external",
    "file_upload",
    "array",
    "number",
    "2024-01-01",
    "https://x.io/(a) b",
    "1. x\n# y",
    "{color=\"red\"} ^id",
];

fn value(g: &mut Gen, depth: usize) -> Value {
    let choice = if depth == 0 { g.below(5) } else { g.below(8) };
    match choice {
        0 => Value::Null,
        1 => json!(g.below(3) == 0),
        2 => match g.below(4) {
            0 => json!(g.next() as i64),
            1 => json!(-1.5e300),
            2 => json!(3.0),
            _ => json!(g.below(100)),
        },
        3 | 4 => json!(g.pick(STRINGS)),
        5 => Value::Array((0..g.below(4)).map(|_| value(g, depth - 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..g.below(6) {
                let k = g.pick(KEYS);
                m.insert(k.to_owned(), value(g, depth - 1));
            }
            if g.below(2) == 0 {
                m.insert("type".into(), json!(g.pick(STRINGS)));
            }
            Value::Object(m)
        }
    }
}

fn typed_object(g: &mut Gen, kind: &str) -> Value {
    let mut m = match value(g, 3) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("id".into(), json!(g.pick(STRINGS)));
    m.insert("type".into(), json!(kind));
    m.insert(kind.to_owned(), value(g, 4));
    if g.below(4) == 0 {
        m.insert("has_more".into(), json!(true));
    }
    Value::Object(m)
}

fn tree(g: &mut Gen, depth: usize) -> BlockNode {
    let kind = g.pick(&BLOCK_KINDS);
    let block: Option<Block> = if g.below(10) == 0 {
        None
    } else {
        serde_json::from_value(typed_object(g, kind)).ok()
    };
    let children = if depth == 0 {
        vec![]
    } else {
        (0..g.below(4)).map(|_| tree(g, depth - 1)).collect()
    };
    BlockNode {
        block,
        children,
        children_omitted: g.below(5) == 0,
    }
}

#[test]
fn renderers_never_panic_and_respect_the_budget() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    for round in 0..400 {
        let nodes: Vec<BlockNode> = (0..g.below(5)).map(|_| tree(&mut g, 4)).collect();
        let max_chars = [0, 1, 10, 80, 500][round % 5];
        let opts = RenderOptions {
            include_block_ids: round % 2 == 0,
            max_chars,
        };
        let r = blocks(&nodes, &opts);
        if max_chars > 0 {
            assert!(r.markdown.chars().count() <= max_chars, "{r:?}");
        }
        if !r.truncated {
            assert_eq!(blocks(&nodes, &opts), r, "deterministic");
        }

        let items: Vec<_> = (0..g.below(5))
            .filter_map(|_| {
                let kind = g.pick(&["text", "mention", "equation", "other"]);
                serde_json::from_value(typed_object(&mut g, kind)).ok()
            })
            .collect();
        let _ = rich_text(&items);

        let mut props = Map::new();
        for _ in 0..g.below(5) {
            let kind = g.pick(&PROPERTY_KINDS);
            let p = typed_object(&mut g, kind);
            let _ = serde_json::from_value::<PropertyValue>(p.clone()).map(|p| property_value(&p));
            props.insert(format!("{kind}{}", g.below(3)), p);
        }
        let page = json!({"id": g.pick(STRINGS), "properties": props, "icon": value(&mut g, 2),
            "parent": value(&mut g, 2), "url": value(&mut g, 0)});
        if let Ok(p) = serde_json::from_value::<Page>(page.clone()) {
            let _ = page_header(&p);
            let cols = vec![g.pick(KEYS).to_owned(), "title".to_owned()];
            let _ = rows_table(&[p.clone(), p.clone()], Some(&cols));
            let _ = rows_table(std::slice::from_ref(&p), None);
        }
        let _ = slim(&page);
        let _ = slim(&value(&mut g, 5));

        let schema: Map<String, Value> = (0..g.below(4))
            .map(|i| {
                let kind = g.pick(&PROPERTY_KINDS);
                (format!("p{i}"), typed_object(&mut g, kind))
            })
            .collect();
        if let Ok(ds) = serde_json::from_value::<DataSource>(json!({"id":"d","properties":schema}))
        {
            let _ = data_source_schema(&ds);
        }
        if let Ok(db) =
            serde_json::from_value::<Database>(json!({"id":"d","description":value(&mut g, 3),
            "data_sources":[{"id":"x","name":g.pick(STRINGS)}]}))
        {
            let _ = database_summary(&db);
        }
        if let Ok(u) = serde_json::from_value::<User>(value(&mut g, 3)) {
            let _ = user_line(&u);
        }
    }
}
