//! The joined table: its header and rows assembled from the fetched pages, pairs or aggregate.

use super::{Fetch, Mode, Plan, Side};
use crate::mcp::tools::relations::{cell, inaccessible_text, page_cells};
use crate::notion::relations::{Fetched, id_key};
use notion_model::types::Page;
use serde_json::{Value, json};

/// The joined table: the rows kept (at most `max_rows`) and how many there are in all.
pub(super) struct Table {
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    /// The left, related (and second-hop) ids of each row.
    pub(super) ids: Vec<Value>,
    /// Output rows in all, kept or not.
    pub(super) total: usize,
    /// False when `total` counts a related page whose second hop was not read as one row.
    pub(super) exact: bool,
}

impl Table {
    /// Counts one output row and keeps it (built by `row`) while fewer than `max_rows` are kept.
    fn offer(&mut self, max_rows: usize, row: impl FnOnce() -> (Vec<String>, Value)) {
        self.total += 1;
        if self.rows.len() < max_rows {
            let (cells, ids) = row();
            self.rows.push(cells);
            self.ids.push(ids);
        }
    }

    /// Output rows counted but not kept.
    pub(super) fn more(&self) -> usize {
        self.total.saturating_sub(self.rows.len())
    }
}

/// The rows of a join being assembled from what was fetched.
struct Assembly<'a> {
    f: &'a Fetch,
    max_rows: usize,
    /// Column names of the related and second-hop sides.
    right: Vec<String>,
    third: Vec<String>,
    table: Table,
}

/// The output table: a row per left row (aggregate) or per left, related (and second-hop) page
/// combination (pairs).
pub(super) fn assemble(plan: &Plan, f: &Fetch) -> Table {
    let third_side = plan.then.as_ref().map(|h| &h.side);
    let mut header = plan.left.header();
    header.extend(plan.right.header());
    if let Some(s) = third_side {
        header.extend(s.header());
    }
    let mut a = Assembly {
        f,
        max_rows: plan.max_rows,
        right: plan.right.names(),
        third: third_side.map(Side::names).unwrap_or_default(),
        table: Table {
            header,
            rows: Vec::new(),
            ids: Vec::new(),
            total: 0,
            exact: true,
        },
    };
    let left_names = plan.left.names();
    for (row, list) in f.rows.items.iter().zip(&f.lists) {
        let left_cells: Vec<String> = left_names.iter().map(|c| cell(row, c)).collect();
        match plan.mode {
            Mode::Aggregate => a.aggregate_row(row, list, left_cells),
            Mode::Pairs => a.pair_rows(row, list, &left_cells),
        }
    }
    a.table
}

impl<'a> Assembly<'a> {
    /// One row for left row `row`: its cells, then its related (and second-hop) pages aggregated.
    fn aggregate_row(&mut self, row: &Page, list: &[String], left_cells: Vec<String>) {
        let f = self.f;
        let (right, third) = (&self.right, &self.third);
        self.table.offer(self.max_rows, || {
            let mut cells = left_cells;
            cells.extend(aggregate(&f.related, list, right));
            if let Some(t) = &f.third {
                cells.extend(aggregate(&t.pages, &t.ids_of(list), third));
            }
            (cells, json!({"left": row.id, "related": list}))
        });
    }

    /// The rows for left row `row`: one per related page and, with two hops, per second-hop page
    /// under it; at least one.
    fn pair_rows(&mut self, row: &Page, list: &'a [String], left_cells: &[String]) {
        let f = self.f;
        let empty_right = vec![String::new(); self.right.len()];
        let empty_third = vec![String::new(); self.third.len()];
        let rels: Vec<Option<&String>> = if list.is_empty() {
            vec![None]
        } else {
            list.iter().map(Some).collect()
        };
        for rid in rels {
            let right_cells = rid.map_or_else(
                || empty_right.clone(),
                |r| page_cells(&f.related, r, &self.right),
            );
            for tid in self.thirds(rid) {
                let third = &self.third;
                self.table.offer(self.max_rows, || {
                    let mut cells = left_cells.to_vec();
                    cells.extend(right_cells.iter().cloned());
                    if let Some(t) = &f.third {
                        cells.extend(tid.map_or_else(
                            || empty_third.clone(),
                            |id| page_cells(&t.pages, id, third),
                        ));
                    }
                    (cells, json!({"left": row.id, "related": rid, "then": tid}))
                });
            }
        }
    }

    /// The second-hop ids under related page `rid` (`None` for no second-hop page); a related page
    /// whose list was not read makes the total inexact.
    fn thirds(&mut self, rid: Option<&'a String>) -> Vec<Option<&'a String>> {
        let f = self.f;
        match (&f.third, rid) {
            (Some(t), Some(r)) => match t.by_key.get(&id_key(r)) {
                Some(l) if !l.is_empty() => l.iter().map(Some).collect(),
                Some(_) => vec![None],
                None => {
                    // Beyond the fetched pages: counted as one row at least.
                    self.table.exact &=
                        f.related.page(r).is_some() || f.related.inaccessible(r).is_some();
                    vec![None]
                }
            },
            _ => vec![None],
        }
    }
}

/// Related values aggregated into one cell per column (`; `-separated, empty values skipped).
fn aggregate(f: &Fetched, ids: &[String], columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            ids.iter()
                .filter_map(|id| match f.page(id) {
                    Some(p) => Some(cell(p, c)),
                    None if i == 0 => Some(inaccessible_text(
                        f.inaccessible(id).unwrap_or("not fetched"),
                    )),
                    None => None,
                })
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect()
}
