//! A seeded generator of varied Notion block trees in the exact JSON shape the Markdown parser
//! produces, restricted to content whose Markdown form is unambiguous (so that
//! parse(render(blocks)) == blocks): non-empty texts without edge whitespace, styled runs
//! separated by plain text, callouts whose text is followed by a non-paragraph, bookmarks
//! without captions, and mentions carrying the names the fake shows.

use serde_json::{Map, Value, json};

/// xorshift64*: small, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "notion",
    "markdown",
    "block",
    "page",
    "table",
    "quote",
    "x_y",
    "snake_case",
    "a*b",
    "[note]",
    "$5",
    "50%",
    "C#",
    "<tag>",
    "~tilde",
    "back\\slash",
    "{brace}",
    "a^2",
    "#hash",
    "pipe|char",
    "é",
    "naïve",
    "日本語",
    "🙂",
    "Ω",
    "1.5",
    "(paren)",
    "'quote'",
    "\"dq\"",
    "end.",
    "x=y",
    "under_score_",
    "_lead",
];
const COLORS: &[&str] = &[
    "red",
    "blue",
    "green",
    "gray",
    "orange",
    "yellow_background",
    "purple_background",
    "pink",
    "brown_background",
];
const LANGUAGES: &[&str] = &[
    "rust",
    "python",
    "javascript",
    "typescript",
    "shell",
    "json",
    "yaml",
    "sql",
    "go",
    "plain text",
    "c++",
    "html",
];
const EMOJIS: &[&str] = &["💡", "⚠️", "📌", "✅", "🔥"];

/// Pages and users that mentions may point at: (id, name as Notion shows it).
pub struct Targets {
    pub pages: Vec<(String, String)>,
    pub users: Vec<(String, String)>,
}

pub struct Gen<'a> {
    pub rng: Rng,
    /// Blocks generated so far (table rows included).
    pub count: usize,
    targets: &'a Targets,
    /// Inside table cells: no mentions (the fake resolves mention names only in block text).
    in_cells: bool,
}

fn text_item(content: &str, ann: Option<Value>, link: Option<&str>) -> Value {
    let mut text = Map::new();
    text.insert("content".into(), json!(content));
    if let Some(u) = link {
        text.insert("link".into(), json!({ "url": u }));
    }
    let mut item = json!({"type": "text", "text": Value::Object(text)});
    if let Some(a) = ann {
        item["annotations"] = a;
    }
    item
}

fn block(kind: &str, data: Value) -> Value {
    json!({"type": kind, kind: data})
}

impl<'a> Gen<'a> {
    pub fn new(seed: u64, targets: &'a Targets) -> Self {
        Gen {
            rng: Rng::new(seed),
            count: 0,
            targets,
            in_cells: false,
        }
    }

    fn words(&mut self, min: usize, max: usize) -> String {
        let n = min + self.rng.below(max - min + 1);
        let mut out: Vec<&str> = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.rng.pick(WORDS));
        }
        out.join(" ")
    }

    /// Plain words that may safely start a line (no list/heading-like starts are needed: the
    /// renderer escapes them, but keep lines readable).
    fn plain_words(&mut self, min: usize, max: usize) -> String {
        let rest = self.words(min, max);
        if rest.is_empty() {
            "Word".into()
        } else {
            format!("Word {rest}")
        }
    }

    fn styled(&mut self) -> Value {
        let t = self.targets;
        let pick = self.rng.below(14);
        let pick = if self.in_cells && (10..=12).contains(&pick) {
            0
        } else {
            pick
        };
        match pick {
            0 => text_item(&self.words(1, 3), Some(json!({"bold": true})), None),
            1 => text_item(&self.words(1, 3), Some(json!({"italic": true})), None),
            2 => text_item(
                &self.words(1, 2),
                Some(json!({"strikethrough": true})),
                None,
            ),
            3 => text_item("let x = `y`;", Some(json!({"code": true})), None),
            4 => text_item(&self.words(1, 2), Some(json!({"underline": true})), None),
            5 => {
                let c = self.rng.pick(COLORS);
                text_item(&self.words(1, 2), Some(json!({"color": c})), None)
            }
            6 => text_item(
                &self.words(1, 2),
                Some(json!({"bold": true, "italic": true})),
                None,
            ),
            7 => text_item(&self.words(1, 3), None, Some("https://example.com/a?b=c")),
            8 => text_item(
                "bold link",
                Some(json!({"bold": true})),
                Some("https://example.org/x_y"),
            ),
            9 => json!({"type": "equation", "equation": {"expression": "E = mc^2 + \\alpha_1"}}),
            10 if !t.users.is_empty() => {
                let (id, name) = t.users[self.rng.below(t.users.len())].clone();
                json!({"type": "mention", "mention": {"type": "user", "user": {"id": id}},
                       "plain_text": format!("@{name}")})
            }
            11 if !t.pages.is_empty() => {
                let (id, title) = t.pages[self.rng.below(t.pages.len())].clone();
                json!({"type": "mention", "mention": {"type": "page", "page": {"id": id}},
                       "plain_text": title})
            }
            12 => json!({"type": "mention", "mention": {"type": "date",
                         "date": {"start": "2024-05-01", "end": "2024-05-03"}}}),
            _ => text_item(
                &self.words(1, 2),
                Some(json!({"underline": true, "color": "red_background", "bold": true})),
                None,
            ),
        }
    }

    /// Rich text: plain words and styled runs, alternating (styled runs never touch).
    pub fn rich(&mut self, runs: usize, lines: bool) -> Vec<Value> {
        let mut out = Vec::new();
        let mut plain = self.plain_words(1, 4);
        for _ in 0..runs {
            plain.push(' ');
            out.push(text_item(&plain, None, None));
            out.push(self.styled());
            plain = if lines && self.rng.chance(20) {
                format!("\n{}", self.plain_words(1, 3))
            } else {
                format!(" {}", self.words(1, 3))
            };
        }
        out.push(text_item(&plain, None, None));
        out
    }

    fn text_data(&mut self, runs: usize, lines: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("rich_text".into(), Value::Array(self.rich(runs, lines)));
        if self.rng.chance(20) {
            m.insert("color".into(), json!(self.rng.pick(COLORS)));
        }
        m
    }

    fn with_children(
        &mut self,
        mut data: Map<String, Value>,
        kids: Vec<Value>,
    ) -> Map<String, Value> {
        if !kids.is_empty() {
            data.insert("children".into(), Value::Array(kids));
        }
        data
    }

    /// A list item, with nested items down to `depth` more levels.
    fn list_item(&mut self, depth: usize) -> Value {
        self.count += 1;
        let kind = self
            .rng
            .pick(&["bulleted_list_item", "numbered_list_item", "to_do"]);
        let mut data = {
            let n = self.rng.below(3);
            self.text_data(n, false)
        };
        if kind == "to_do" {
            data.insert("checked".into(), json!(self.rng.chance(50)));
        }
        let mut kids = Vec::new();
        if depth > 0 && self.rng.chance(60) {
            for _ in 0..1 + self.rng.below(3) {
                kids.push(self.list_item(depth - 1));
            }
            if self.rng.chance(15) {
                kids.push(self.code());
            }
        }
        let data = self.with_children(data, kids);
        block(kind, Value::Object(data))
    }

    fn code(&mut self) -> Value {
        self.count += 1;
        let lang = self.rng.pick(LANGUAGES);
        let mut lines = vec![format!("// {}", self.words(1, 4))];
        for i in 0..1 + self.rng.below(6) {
            let indent = if i % 3 == 1 { "\t" } else { "    " };
            lines.push(format!("{indent}let v{i} = \"{}\";", self.rng.pick(WORDS)));
            if self.rng.chance(15) {
                lines.push(String::new());
                lines.push("```nested fence```".into());
            }
        }
        lines.push("end".into());
        let content = lines.join("\n");
        block(
            "code",
            json!({"rich_text": [text_item(&content, None, None)], "language": lang}),
        )
    }

    fn table(&mut self) -> Value {
        self.count += 1;
        let width = 2 + self.rng.below(3);
        let header = self.rng.chance(70);
        let rows = 2 + self.rng.below(5);
        self.in_cells = true;
        let mut children = Vec::new();
        for r in 0..rows {
            self.count += 1;
            let cells: Vec<Value> = (0..width)
                .map(|c| {
                    if r > 0 && c == 1 && self.rng.chance(20) {
                        json!([])
                    } else if self.rng.chance(25) {
                        Value::Array(self.rich(1, false))
                    } else {
                        json!([text_item(&self.plain_words(0, 2), None, None)])
                    }
                })
                .collect();
            children.push(block("table_row", json!({ "cells": cells })));
        }
        self.in_cells = false;
        block(
            "table",
            json!({"table_width": width, "has_column_header": header, "has_row_header": false,
                   "children": children}),
        )
    }

    fn long_paragraph(&mut self) -> Value {
        self.count += 1;
        let mut long = String::from("Long");
        while long.chars().count() < 4500 {
            long.push(' ');
            long.push_str(self.rng.pick(WORDS));
        }
        let styled: String = std::iter::repeat_n("bold", 600)
            .collect::<Vec<_>>()
            .join(" ");
        block(
            "paragraph",
            json!({"rich_text": [
                text_item(&long, None, None),
                text_item(&styled, Some(json!({"bold": true})), None),
                text_item(" tail", None, None)]}),
        )
    }

    /// Any block; containers get children while `depth` allows.
    pub fn any(&mut self, depth: usize) -> Value {
        match self.rng.below(20) {
            0..=4 => {
                self.count += 1;
                let data = {
                    let n = 1 + self.rng.below(4);
                    self.text_data(n, true)
                };
                let kids = if depth > 0 && self.rng.chance(10) {
                    vec![self.any(depth - 1)]
                } else {
                    Vec::new()
                };
                let data = self.with_children(data, kids);
                block("paragraph", Value::Object(data))
            }
            5..=7 => self.list_item(3.min(depth + 2)),
            8 => {
                self.count += 1;
                let level = 1 + self.rng.below(4);
                let kind = format!("heading_{level}");
                let mut data = {
                    let n = self.rng.below(2);
                    self.text_data(n, false)
                };
                let mut kids = Vec::new();
                if self.rng.chance(40) {
                    data.insert("is_toggleable".into(), json!(true));
                    for _ in 0..1 + self.rng.below(3) {
                        kids.push(self.any(depth.saturating_sub(1)));
                    }
                }
                let data = self.with_children(data, kids);
                block(&kind, Value::Object(data))
            }
            9 => {
                self.count += 1;
                let data = {
                    let n = self.rng.below(3);
                    self.text_data(n, true)
                };
                block("quote", Value::Object(data))
            }
            10 => self.code(),
            11 => {
                self.count += 1;
                block(
                    "equation",
                    json!({"expression": "\\int_0^1 x^2 \\, dx = \\frac{1}{3}"}),
                )
            }
            12 => {
                self.count += 1;
                let mut data = {
                    let n = self.rng.below(2);
                    self.text_data(n, false)
                };
                data.insert(
                    "icon".into(),
                    json!({"type": "emoji", "emoji": self.rng.pick(EMOJIS)}),
                );
                let mut kids = vec![self.list_item(1)];
                if depth > 0 && self.rng.chance(50) {
                    kids.push(self.any(depth - 1));
                }
                let data = self.with_children(data, kids);
                block("callout", Value::Object(data))
            }
            13 => {
                self.count += 1;
                let data = {
                    let n = self.rng.below(2);
                    self.text_data(n, false)
                };
                let mut kids = Vec::new();
                for _ in 0..1 + self.rng.below(3) {
                    kids.push(if depth > 0 {
                        self.any(depth - 1)
                    } else {
                        self.list_item(0)
                    });
                }
                let data = self.with_children(data, kids);
                block("toggle", Value::Object(data))
            }
            14 => self.table(),
            15 => {
                self.count += 1;
                block("divider", json!({}))
            }
            16 => {
                self.count += 1;
                let cap = self.rich(0, false);
                block(
                    "image",
                    json!({"type": "external", "external": {"url": "https://img.example/x_1.png"},
                           "caption": cap}),
                )
            }
            17 => {
                self.count += 1;
                block("bookmark", json!({"url": "https://example.com/bookmark"}))
            }
            18 if self.rng.chance(15) => self.long_paragraph(),
            _ => self.list_item(1),
        }
    }

    /// A document of at least `target` blocks.
    pub fn document(&mut self, target: usize) -> Vec<Value> {
        let mut out = vec![self.long_paragraph()];
        while self.count < target {
            out.push(self.any(3));
        }
        out
    }
}
