//! Column lists and columns in block appends. Notion creates a `column_list` only together with
//! at least two columns, each holding at least one child, in the same request — two nesting
//! levels below the list. Whatever does not fit (deeper content, more children, more columns)
//! goes in later appends addressed to the ids of the new columns and children, which a
//! children listing of the new blocks returns.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::{Budget, Item, Job, MAX_CHILDREN_PER_REQUEST, Sent, size_of};
use crate::notion::client::{NotionAuth, NotionClient};
use crate::notion::endpoints::list_block_children;
use crate::notion::error::NotionError;

/// What is left of one column sent in a request, for later appends.
#[derive(Debug, Default)]
pub(super) struct ColumnRest {
    /// Children of the column not sent yet (appended to the column).
    rest: Vec<Item>,
    /// Children of the column's sent children, by the child's index in the column.
    nested: Vec<(usize, Vec<Item>)>,
    /// The first child sent is an empty paragraph standing in for a block that has to start
    /// its own request (a table, a nested column list); removed once that block exists.
    placeholder: bool,
}

impl ColumnRest {
    #[cfg(test)]
    pub(super) fn nested(&self) -> &[(usize, Vec<Item>)] {
        &self.nested
    }

    #[cfg(test)]
    pub(super) fn rest(&self) -> &[Item] {
        &self.rest
    }

    #[cfg(test)]
    pub(super) fn placeholder(&self) -> bool {
        self.placeholder
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty() && self.nested.is_empty() && !self.placeholder
    }
}

/// A column being packed: its JSON, the children sent so far and what waits.
struct Packing {
    block: Value,
    kind: String,
    kids: VecDeque<Item>,
    sent: Vec<Value>,
    rest: ColumnRest,
}

impl Packing {
    fn new(item: Item) -> Packing {
        Packing {
            block: item.block,
            kind: item.kind,
            kids: item.children.into(),
            sent: Vec::new(),
            rest: ColumnRest::default(),
        }
    }

    /// Sends the next child (without its own children, which wait for its id). A column's first
    /// child is sent whatever the budget, as Notion refuses an empty column. `false`: stop here.
    fn take_child(&mut self, budget: &mut Budget) -> bool {
        let first = self.sent.is_empty();
        let Some(kid) = self.kids.front() else {
            return false;
        };
        if self.sent.len() >= MAX_CHILDREN_PER_REQUEST {
            return false;
        }
        if kid.needs_children() {
            if first {
                budget.add(size_of(&placeholder()));
                self.sent.push(placeholder());
                self.rest.placeholder = true;
            }
            return false;
        }
        let size = size_of(&kid.block);
        if !first && !budget.fits(1, size) {
            return false;
        }
        let Some(kid) = self.kids.pop_front() else {
            return false;
        };
        budget.add(size);
        if !kid.children.is_empty() {
            self.rest.nested.push((self.sent.len(), kid.children));
        }
        self.sent.push(kid.block);
        true
    }

    fn finish(mut self) -> (Value, usize, ColumnRest) {
        let included = self.sent.len();
        if let Some(data) = self
            .block
            .get_mut(&self.kind)
            .and_then(Value::as_object_mut)
        {
            data.insert("children".into(), Value::Array(self.sent));
        }
        self.rest.rest = self.kids.into();
        (self.block, included, self.rest)
    }
}

fn placeholder() -> Value {
    json!({"type": "paragraph", "paragraph": {"rich_text": []}})
}

/// Blocks and bytes a column list or column needs at the least (each column with one child).
pub(super) fn minimum(item: &Item) -> (usize, usize) {
    let column = |c: &Item| {
        let first = c.children.first().map_or(0, |k| size_of(&k.block));
        (2, size_of(&c.block) + first)
    };
    match item.kind.as_str() {
        "column_list" => item
            .children
            .iter()
            .take(MAX_CHILDREN_PER_REQUEST)
            .map(column)
            .fold((1, size_of(&item.block)), |(b, s), (cb, cs)| {
                (b + cb, s + cs)
            }),
        _ => column(item),
    }
}

/// Packs a column list (with its columns and their first children) or a lone column (with its
/// first children) as one top-level block of a request.
pub(super) fn pack(item: Item, budget: &mut Budget) -> Sent {
    budget.add(size_of(&item.block));
    if item.kind != "column_list" {
        let mut col = Packing::new(item);
        while col.take_child(budget) {}
        let (json, included, rest) = col.finish();
        return Sent {
            json,
            included,
            deferred: Vec::new(),
            columns: vec![rest],
        };
    }
    let Item {
        mut block,
        kind,
        children,
    } = item;
    let mut columns: VecDeque<Item> = children.into();
    let mut packing: Vec<Packing> = Vec::new();
    while packing.len() < MAX_CHILDREN_PER_REQUEST
        && let Some(c) = columns.pop_front()
    {
        budget.add(size_of(&c.block));
        let mut col = Packing::new(c);
        col.take_child(budget);
        packing.push(col);
    }
    for col in &mut packing {
        while col.take_child(budget) {}
    }
    let mut included = 0;
    let mut sent_columns = Vec::new();
    let mut rests = Vec::new();
    for col in packing {
        let (json, n, rest) = col.finish();
        included += 1 + n;
        sent_columns.push(json);
        rests.push(rest);
    }
    if let Some(data) = block.get_mut(&kind).and_then(Value::as_object_mut) {
        data.insert("children".into(), Value::Array(sent_columns));
    }
    Sent {
        json: block,
        included,
        deferred: columns.into(),
        columns: rests,
    }
}

/// Ids of the first children of a block (at most 100, as sent in one request).
async fn child_ids(
    c: &NotionClient,
    auth: &NotionAuth,
    parent: &str,
) -> Result<Vec<String>, NotionError> {
    let page = list_block_children(c, auth, parent, None, Some(100)).await?;
    Ok(page.results.into_iter().map(|b| b.id).collect())
}

/// Queues the later appends of the columns sent under `id` (a new column list or column): their
/// remaining children, and the children of the children they got.
pub(super) async fn queue_rest(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    kind: &str,
    columns: Vec<ColumnRest>,
    queue: &mut VecDeque<Job>,
) -> Result<(), NotionError> {
    if columns.iter().all(ColumnRest::is_empty) {
        return Ok(());
    }
    let column_ids = if kind == "column_list" {
        child_ids(c, auth, id).await?
    } else {
        vec![id.to_owned()]
    };
    for (column_id, col) in column_ids.into_iter().zip(columns) {
        if col.is_empty() {
            continue;
        }
        let kid_ids = if col.nested.is_empty() && !col.placeholder {
            Vec::new()
        } else {
            child_ids(c, auth, &column_id).await?
        };
        for (index, items) in col.nested {
            let Some(parent) = kid_ids.get(index) else {
                return Err(missing(&column_id, index));
            };
            queue.push_back(Job::new(parent.clone(), items));
        }
        if !col.rest.is_empty() {
            let mut job = Job::new(column_id.clone(), col.rest);
            if col.placeholder {
                job.remove_after = kid_ids.first().cloned();
            }
            queue.push_back(job);
        }
    }
    Ok(())
}

fn missing(column: &str, index: usize) -> NotionError {
    NotionError::Decode {
        endpoint: "GET /v1/blocks/{id}/children",
        message: format!("column {column} has no child at position {index} after the append"),
    }
}
