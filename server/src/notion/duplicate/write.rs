//! Writing a faithful copy of a [`SourcePage`]: the pages first (the copy, then every sub-page under
//! its page's copy), so that mentions and `link_to_page` inside the tree can name the copies; then
//! each page's content in document order, one level per request (≤ 100 blocks, ≤ 1,000 elements,
//! ≤ 450 KB) placed around the sub-pages with `position`; `table` with its rows and `column_list`
//! with its columns and their children in one request. What cannot be copied is reported.

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;
use notion_model::types::{BlockNode, DataSource, Page};
use serde_json::{Map, Value, json};

use super::SourcePage;
use super::convert::{Converter, HostedFile, fill_uploads, key};
use super::files;
use super::request::{
    MAX_PER_REQUEST, batch_len, elements, id_of, is_reference, kind_of, names_failed,
};
use crate::notion::client::{NotionAuth, NotionClient, NotionVersion};
use crate::notion::error::NotionError;
use crate::notion::{endpoints, relations, writes};

/// Related pages kept per relation property.
const MAX_RELATIONS: usize = 1000;

/// Where a copy goes.
#[derive(Debug, Clone)]
pub enum Destination {
    Page(String),
    DataSource(Box<DataSource>),
    Workspace,
}

impl Destination {
    fn parent(&self) -> Value {
        match self {
            Destination::Page(id) => json!({"type": "page_id", "page_id": id}),
            Destination::DataSource(ds) => {
                json!({"type": "data_source_id", "data_source_id": ds.id})
            }
            Destination::Workspace => json!({"type": "workspace", "workspace": true}),
        }
    }
}

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The copy (the page answer of its create).
    pub page: Value,
    pub pages: usize,
    pub blocks: usize,
    pub files: usize,
    pub requests: usize,
    /// One line per thing left out, with the reason.
    pub not_copied: Vec<String>,
}

/// Where appended blocks go among a parent's children.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    Start,
    After(String),
    End,
}

/// A copy being written.
pub struct Writer<'a> {
    c: &'a NotionClient,
    auth: NotionAuth,
    conv: Converter,
    /// Placeholder slot → new upload id; failed slots are absent and listed in `failed`.
    uploads: HashMap<String, String>,
    failed: HashSet<String>,
    /// For each copied `column_list` (old id): per column, the indexes of the children sent.
    columns: HashMap<String, Vec<Vec<usize>>>,
    pub report: Report,
}

impl<'a> Writer<'a> {
    pub fn new(c: &'a NotionClient, auth: &NotionAuth) -> Self {
        Writer {
            c,
            // `position` on appends needs 2026-03-11.
            auth: auth.clone().with_version(NotionVersion::V2026_03_11),
            conv: Converter::default(),
            uploads: HashMap::new(),
            failed: HashSet::new(),
            columns: HashMap::new(),
            report: Report::default(),
        }
    }

    fn note(&mut self, line: String) {
        self.report.not_copied.push(line);
    }

    /// The create body of the copy of `page` under `dest` (properties the destination can hold,
    /// icon, cover), with `title` instead of the source's title when given.
    pub async fn root_body(
        &mut self,
        page: &Page,
        dest: &Destination,
        title: Option<&str>,
    ) -> Result<Value, NotionError> {
        let mut props = Map::new();
        for (name, pv) in page.properties.iter() {
            let target = match dest {
                Destination::DataSource(ds) => {
                    let entry = ds.properties.get(name).or_else(|| {
                        (pv.kind == "title").then(|| {
                            ds.properties
                                .values()
                                .find(|e| e.get("type").and_then(Value::as_str) == Some("title"))
                        })?
                    });
                    match entry {
                        Some(e)
                            if e.get("type").and_then(Value::as_str) == Some(pv.kind.as_str()) =>
                        {
                            e.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or(name)
                                .to_string()
                        }
                        _ if super::convert::read_only_property(&pv.kind) => {
                            continue;
                        }
                        _ => {
                            self.note(format!(
                                "property \"{name}\" ({}): the destination has no such property",
                                pv.kind
                            ));
                            continue;
                        }
                    }
                }
                _ if pv.kind == "title" => "title".to_string(),
                _ => {
                    self.note(format!(
                        "property \"{name}\" ({}): only a database row holds properties besides the title",
                        pv.kind
                    ));
                    continue;
                }
            };
            let relation_ids = if pv.kind == "relation" && pv.has_more() {
                let r = relations::relation_ids(self.c, &self.auth, &page.id, pv, MAX_RELATIONS)
                    .await?;
                if r.truncated {
                    self.note(format!(
                        "property \"{name}\": only the first {MAX_RELATIONS} relations"
                    ));
                }
                Some(r.ids)
            } else {
                None
            };
            let Some(value) = pv.value() else { continue };
            if let Some(v) = self.conv.property(&pv.kind, value, relation_ids.as_deref()) {
                props.insert(target, v);
            }
        }
        if let Some(t) = title {
            let key = props
                .iter()
                .find(|(_, v)| v.get("title").is_some())
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| "title".into());
            props.insert(
                key,
                json!({"title": [{"type": "text", "text": {"content": t}}]}),
            );
        }
        let mut body = json!({"parent": dest.parent(), "properties": props});
        if let Some(icon) = self.conv.icon_or_cover(page.icon.as_ref()) {
            body["icon"] = icon;
        }
        if let Some(cover) = self.conv.icon_or_cover(page.rest.get("cover")) {
            body["cover"] = cover;
        }
        self.upload_pending().await;
        self.settle_files(&mut body, "the copy's icon, cover or a files property");
        Ok(body)
    }

    /// `POST /v1/pages`; remembers old → new.
    pub async fn create_page(&mut self, old_id: &str, body: Value) -> Result<String, NotionError> {
        let page = writes::create_page(self.c, &self.auth, body).await?;
        self.report.requests += 1;
        self.report.pages += 1;
        let id = writes::object_id(&page, "POST /v1/pages")?;
        self.conv.ids.insert(key(old_id), id.clone());
        if self.report.page.is_null() {
            self.report.page = page;
        }
        Ok(id)
    }

    /// Upload every file met so far that is not uploaded yet; failures are remembered per slot.
    async fn upload_pending(&mut self) {
        let pending: Vec<HostedFile> = self
            .conv
            .files
            .iter()
            .filter(|f| !self.uploads.contains_key(&f.slot) && !self.failed.contains(&f.slot))
            .cloned()
            .collect();
        for f in pending {
            match files::reupload(self.c, &self.auth, &f).await {
                Ok(id) => {
                    self.report.files += 1;
                    self.uploads.insert(f.slot, id);
                }
                Err(e) => {
                    self.note(format!("file \"{}\": {e}", f.name));
                    self.failed.insert(f.slot);
                }
            }
        }
    }

    /// Fill uploaded files into `v`; parts naming a failed upload are dropped (noted already).
    fn settle_files(&mut self, v: &mut Value, _what: &str) {
        fill_uploads(v, &self.uploads);
        if let Some(m) = v.as_object_mut() {
            for k in ["icon", "cover"] {
                if m.get(k).is_some_and(|x| names_failed(x, &self.failed)) {
                    m.remove(k);
                }
            }
            if let Some(props) = m.get_mut("properties").and_then(Value::as_object_mut) {
                props.retain(|_, p| !names_failed(p, &self.failed));
            }
        }
    }

    /// Create every sub-page of `src` (recursively) under its page's copy, in document order.
    pub fn create_subpages<'s>(
        &'s mut self,
        src: &'s SourcePage,
    ) -> BoxFuture<'s, Result<(), NotionError>> {
        Box::pin(async move {
            let parent = self
                .conv
                .ids
                .get(&key(&src.page.id))
                .cloned()
                .unwrap_or_default();
            for sub in &src.subpages {
                let title = sub
                    .page
                    .properties
                    .iter()
                    .find(|(_, p)| p.kind == "title")
                    .and_then(|(_, p)| p.value())
                    .map(|v| self.conv.rich_text(v))
                    .unwrap_or_else(|| json!([]));
                let mut body = json!({"parent": {"type": "page_id", "page_id": parent},
                    "properties": {"title": {"title": title}}});
                if let Some(icon) = self.conv.icon_or_cover(sub.page.icon.as_ref()) {
                    body["icon"] = icon;
                }
                if let Some(cover) = self.conv.icon_or_cover(sub.page.rest.get("cover")) {
                    body["cover"] = cover;
                }
                self.upload_pending().await;
                self.settle_files(&mut body, "a sub-page's icon or cover");
                self.create_page(&sub.page.id, body).await?;
                self.create_subpages(sub).await?;
            }
            Ok(())
        })
    }

    /// Write the content of `src` and of its sub-pages.
    pub fn fill<'s>(&'s mut self, src: &'s SourcePage) -> BoxFuture<'s, Result<(), NotionError>> {
        Box::pin(async move {
            let page = self
                .conv
                .ids
                .get(&key(&src.page.id))
                .cloned()
                .unwrap_or_default();
            // Runs of blocks between the page's own sub-pages, each placed after the sub-page before it.
            let mut position = Position::Start;
            let mut run: Vec<&BlockNode> = Vec::new();
            for node in &src.nodes {
                let sub = node
                    .block
                    .as_ref()
                    .filter(|b| b.kind == "child_page")
                    .and_then(|b| self.conv.ids.get(&key(&b.id)).cloned());
                match sub {
                    Some(new_sub) => {
                        let nodes = std::mem::take(&mut run);
                        self.append_level(&page, &nodes, position).await?;
                        position = Position::After(new_sub);
                    }
                    None => run.push(node),
                }
            }
            self.append_level(&page, &run, position).await?;
            for sub in &src.subpages {
                self.fill(sub).await?;
            }
            Ok(())
        })
    }

    /// Append `nodes` under `parent` from `position`, then their children.
    fn append_level<'s>(
        &'s mut self,
        parent: &'s str,
        nodes: &'s [&'s BlockNode],
        position: Position,
    ) -> BoxFuture<'s, Result<(), NotionError>> {
        Box::pin(async move {
            let mut items: Vec<(&BlockNode, Value)> = Vec::new();
            for n in nodes {
                if let Some(v) = self.request_for(n, true) {
                    items.push((n, v));
                }
            }
            self.upload_pending().await;
            let mut kept = Vec::with_capacity(items.len());
            for (n, mut v) in items {
                fill_uploads(&mut v, &self.uploads);
                if names_failed(&v, &self.failed) {
                    self.note(format!(
                        "{} block {}: its file could not be copied",
                        kind_of(n),
                        id_of(n)
                    ));
                } else {
                    kept.push((n, v));
                }
            }
            let mut position = position;
            let mut created: Vec<(&BlockNode, String)> = Vec::new();
            let mut rest = kept.as_slice();
            while !rest.is_empty() {
                let take = batch_len(rest.iter().map(|(_, v)| v));
                let (batch, tail) = rest.split_at(take);
                rest = tail;
                let mut body =
                    json!({"children": batch.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()});
                match &position {
                    Position::Start => body["position"] = json!({"type": "start"}),
                    Position::After(id) => {
                        body["position"] = json!({"type": "after_block", "after_block": {"id": id}})
                    }
                    Position::End => {}
                }
                let answer =
                    endpoints::append_block_children(self.c, &self.auth, parent, body).await?;
                self.report.requests += 1;
                let ids: Vec<String> = answer
                    .results
                    .iter()
                    .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect();
                if ids.len() != batch.len() {
                    return Err(NotionError::Decode {
                        endpoint: "PATCH /v1/blocks/{id}/children",
                        message: format!("{} blocks sent, {} ids answered", batch.len(), ids.len()),
                    });
                }
                self.report.blocks += batch.iter().map(|(_, v)| elements(v)).sum::<usize>();
                if position != Position::End
                    && let Some(last) = ids.last()
                {
                    position = Position::After(last.clone());
                }
                created.extend(batch.iter().map(|(n, _)| *n).zip(ids));
            }
            for (node, id) in created {
                self.after_created(node, &id).await?;
            }
            Ok(())
        })
    }

    /// The children a created block still needs.
    fn after_created<'s>(
        &'s mut self,
        node: &'s BlockNode,
        id: &'s str,
    ) -> BoxFuture<'s, Result<(), NotionError>> {
        Box::pin(async move {
            let kids: Vec<&BlockNode> = node.children.iter().collect();
            match kind_of(node) {
                // Rows past the first request's go after them; the others were sent with the table.
                "table" if kids.len() > MAX_PER_REQUEST => {
                    self.append_level(id, &kids[MAX_PER_REQUEST..], Position::End)
                        .await?;
                }
                "table" => {}
                "column_list" => self.fill_columns(node, id).await?,
                "synced_block" if is_reference(node) => {}
                _ if !kids.is_empty() => self.append_level(id, &kids, Position::End).await?,
                _ => {}
            }
            Ok(())
        })
    }

    /// Deeper content of a copied column list: its columns' children are known only by reading
    /// the new columns back.
    async fn fill_columns(&mut self, node: &BlockNode, id: &str) -> Result<(), NotionError> {
        let plan = self.columns.remove(id_of(node)).unwrap_or_default();
        let new_columns = self.all_children(id).await?;
        for ((old_col, sent), new_col) in node.children.iter().zip(plan).zip(new_columns) {
            let new_kids = self.all_children(&new_col).await?;
            for (i, new_kid) in sent.into_iter().zip(new_kids) {
                if let Some(old_kid) = old_col.children.get(i) {
                    self.after_created(old_kid, &new_kid).await?;
                }
            }
        }
        Ok(())
    }

    async fn all_children(&mut self, id: &str) -> Result<Vec<String>, NotionError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = endpoints::list_block_children(
                self.c,
                &self.auth,
                id,
                cursor.as_deref(),
                Some(100),
            )
            .await?;
            self.report.requests += 1;
            out.extend(page.results.into_iter().map(|b| b.id));
            match page.next_cursor.filter(|_| page.has_more) {
                Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
                _ => return Ok(out),
            }
        }
    }

    /// One block as a request (`table` with its first rows, `column_list` with its columns and
    /// their children); `None` when it cannot be created (noted).
    fn request_for(&mut self, node: &BlockNode, top: bool) -> Option<Value> {
        let b = node.block.as_ref()?;
        let data = b.data().cloned().unwrap_or_else(|| json!({}));
        if b.kind == "child_page" {
            self.note(format!(
                "sub-page {} sat inside a block; its copy is at the end of its page",
                b.id
            ));
            return None;
        }
        if !top && matches!(b.kind.as_str(), "table" | "column_list") {
            self.note(format!(
                "{} block {}: inside a column it would need more than two levels in one request",
                b.kind, b.id
            ));
            return None;
        }
        let Some(mut v) = self.conv.block(&b.kind, &data) else {
            let shown = match (
                b.kind.as_str(),
                data.get("block_type").and_then(Value::as_str),
            ) {
                ("unsupported", Some(t)) => t.to_string(),
                (k, _) => k.to_string(),
            };
            self.note(format!(
                "{shown} block {}: Notion's API cannot create it",
                b.id
            ));
            return None;
        };
        match b.kind.as_str() {
            "table" => {
                let rows: Vec<Value> = node
                    .children
                    .iter()
                    .take(MAX_PER_REQUEST)
                    .filter_map(|r| {
                        let rb = r.block.as_ref()?;
                        self.conv.block(&rb.kind, rb.data().unwrap_or(&Value::Null))
                    })
                    .collect();
                v["table"]["children"] = Value::Array(rows);
            }
            "column_list" => {
                let mut plan = Vec::new();
                let mut columns = Vec::new();
                for col in &node.children {
                    let Some(cb) = col.block.as_ref() else {
                        continue;
                    };
                    let Some(mut cj) = self.conv.block("column", cb.data().unwrap_or(&Value::Null))
                    else {
                        continue;
                    };
                    let mut sent = Vec::new();
                    let mut kids = Vec::new();
                    for (i, k) in col.children.iter().enumerate() {
                        if let Some(kj) = self.request_for(k, false) {
                            sent.push(i);
                            kids.push(kj);
                        }
                    }
                    if kids.is_empty() {
                        kids.push(json!({"type": "paragraph", "paragraph": {"rich_text": []}}));
                    }
                    cj["column"]["children"] = Value::Array(kids);
                    columns.push(cj);
                    plan.push(sent);
                }
                v["column_list"]["children"] = Value::Array(columns);
                self.columns.insert(b.id.clone(), plan);
            }
            _ => {}
        }
        Some(v)
    }
}

/// Copy `src` under `dest` block by block; see the module comment.
pub async fn copy(
    c: &NotionClient,
    auth: &NotionAuth,
    src: &SourcePage,
    dest: &Destination,
    title: Option<&str>,
) -> Result<Report, NotionError> {
    let mut w = Writer::new(c, auth);
    let body = w.root_body(&src.page, dest, title).await?;
    let root = w.create_page(&src.page.id, body).await?;
    let rest = async {
        w.create_subpages(src).await?;
        w.fill(src).await
    }
    .await;
    rest.map_err(|e| {
        writes::with_context(
            e,
            &format!("the copy {root} was created but copying stopped part way; trash it before trying again"),
        )
    })?;
    Ok(w.report)
}
