//! The trace's workspace: long pages with nested toggles, a data source of rows, one integration
//! token per simulated user and one for the person who edits "in Notion".

use notion_fake::{Fixture, GeneratedIds, PageFixture, TokenFixture, stable_id};
use serde_json::{Value, json};
use uuid::Uuid;

/// Title of the data source (`GeneratedIds::{data_source,row}` derive from it).
pub const TRACKER: &str = "Trace Tracker";
/// Topics in page titles; `search` looks for them.
pub const TOPICS: [&str; 10] = [
    "Onboarding",
    "Billing",
    "Incidents",
    "Roadmap",
    "Security",
    "Hiring",
    "Pricing",
    "Support",
    "Releases",
    "Analytics",
];

/// How big the workspace is.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub pages: usize,
    /// Top-level blocks per page, toggles included.
    pub blocks: usize,
    /// Every `toggle_every`-th top-level block is a toggle with 3 children, the first of them a
    /// toggle with 2 children of its own (two levels of nesting).
    pub toggle_every: usize,
    pub rows: usize,
    pub users: usize,
}

impl Shape {
    pub const FULL: Shape = Shape {
        pages: 30,
        blocks: 250,
        toggle_every: 50,
        rows: 200,
        users: 20,
    };
    pub const QUICK: Shape = Shape {
        pages: 8,
        blocks: 40,
        toggle_every: 20,
        rows: 40,
        users: 20,
    };

    /// Blocks per page, nested ones included.
    pub fn blocks_per_page(&self) -> usize {
        self.blocks + (self.blocks / self.toggle_every.max(1)) * 5
    }

    /// Notion requests for one uncached `fetch` of a page: the page, its top-level child lists
    /// (100 per request) and one child list per toggle.
    pub fn requests_per_fetch(&self) -> usize {
        1 + self.blocks.div_ceil(100) + 2 * (self.blocks / self.toggle_every.max(1))
    }
}

/// The generated workspace and the ids the trace addresses.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub fixture: Fixture,
    /// One integration token per simulated user.
    pub users: Vec<String>,
    /// The token the editing person's changes are made with.
    pub editor: String,
    pub pages: Vec<Uuid>,
    pub rows: Vec<Uuid>,
    pub data_source: Uuid,
}

impl Workspace {
    pub fn new(shape: Shape) -> Self {
        let users: Vec<String> = (0..shape.users)
            .map(|i| format!("ntn_trace_user_{i:02}"))
            .collect();
        let editor = "ntn_trace_editor".to_string();
        let mut builder = Fixture::builder().workspace("Trace", &users[0]);
        for token in users.iter().skip(1).chain([&editor]) {
            builder = builder.token(TokenFixture::Plain(token.clone()));
        }
        let mut pages = Vec::new();
        for p in 0..shape.pages {
            let title = format!("{} handbook {p:02}", TOPICS[p % TOPICS.len()]);
            let id = GeneratedIds::page("Trace page", p);
            builder = builder.page(
                PageFixture::new(&title)
                    .id(&id.to_string())
                    .children(page_blocks(p, shape)),
            );
            pages.push(id);
        }
        let fixture = builder.database_with_rows(TRACKER, shape.rows).build();
        Workspace {
            fixture,
            users,
            editor,
            pages,
            rows: (0..shape.rows)
                .map(|i| GeneratedIds::row(TRACKER, i))
                .collect(),
            data_source: GeneratedIds::data_source(TRACKER),
        }
    }

    /// The editing person's bot, as the fake's request log names it.
    pub fn editor_bot(&self) -> String {
        stable_id(&format!("bot:{}", self.editor)).to_string()
    }
}

/// The blocks of page `p`: paragraphs, headings now and then, and nested toggles.
fn page_blocks(p: usize, shape: Shape) -> Vec<Value> {
    (0..shape.blocks)
        .map(|i| {
            if i % shape.toggle_every.max(1) == shape.toggle_every.max(1) - 1 {
                let label = format!("Details {p}.{i}");
                json!({"type": "toggle", "text": label, "children": [
                    {"type": "toggle", "text": format!("{label}.1"), "children": [
                        format!("Nested note {p}.{i}.1.1"),
                        format!("Nested note {p}.{i}.1.2"),
                    ]},
                    format!("Note {p}.{i}.2"),
                    format!("Note {p}.{i}.3"),
                ]})
            } else if i % 40 == 0 {
                json!({"heading_2": format!("Section {}", i / 40 + 1)})
            } else {
                json!(format!(
                    "Paragraph {i} of page {p}: how the team handles this, with a *few* words of context."
                ))
            }
        })
        .collect()
}
