//! The tantivy index itself: one schema for every workspace's pages (a `workspace` term keeps them
//! apart), one writer, a reader reloaded after each commit. Documents are replaced whole by page
//! id; snippets come from tantivy's `SnippetGenerator` over the stored body and properties.

use super::document::PageDoc;
use super::query::{self, Clause};
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use uuid::Uuid;

/// The writer's memory (tantivy's minimum per thread; one thread).
const WRITER_BYTES: usize = 15_000_000;
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 180;
/// The analyzer of the text fields: words, lowercased, English stems.
const ANALYZER: &str = "en_stem";

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("content index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("content index directory {path}: {message}")]
    Directory { path: String, message: String },
}

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub workspace: Field,
    pub title: Field,
    pub properties: Field,
    pub body: Field,
    pub path: Field,
    pub url: Field,
    pub parent: Field,
    pub data_source: Field,
    pub edited: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        workspace: b.add_text_field("workspace", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        properties: b.add_text_field("properties", text.clone()),
        body: b.add_text_field("body", text.clone()),
        path: b.add_text_field("path", text),
        url: b.add_text_field("url", STORED),
        parent: b.add_text_field("parent", STRING | STORED),
        data_source: b.add_text_field("data_source", STRING | STORED),
        edited: b.add_i64_field("edited", INDEXED | STORED),
    };
    (b.build(), fields)
}

/// A page as stored in the index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub title: String,
    pub properties: String,
    pub body: String,
    pub url: String,
    pub edited: i64,
}

/// Filters of one search.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only these pages (the descendants of an ancestor); `Some(empty)` matches nothing.
    pub pages: Option<HashSet<Uuid>>,
    pub data_source: Option<Uuid>,
    /// Edited strictly after (Unix seconds).
    pub edited_after: Option<i64>,
}

/// One hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub title: String,
    pub url: String,
    pub snippet: String,
    pub edited: i64,
    pub in_title: bool,
    pub in_content: bool,
}

/// The index of every workspace.
pub struct Engine {
    index: Index,
    fields: Fields,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    reader: IndexReader,
    analyzer: TextAnalyzer,
}

impl Engine {
    /// On disk under `dir` (created if missing), or in memory.
    pub fn open(dir: Option<&Path>) -> Result<Self, EngineError> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(dir) => {
                let bad = |message: String| EngineError::Directory {
                    path: dir.display().to_string(),
                    message,
                };
                std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
                let mmap = MmapDirectory::open(dir).map_err(|e| bad(e.to_string()))?;
                Index::open_or_create(mmap, schema)?
            }
            None => Index::create_in_ram(schema),
        };
        let writer = index.writer_with_num_threads(1, WRITER_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let analyzer = index.tokenizer_for_field(fields.body)?;
        Ok(Engine {
            index,
            fields,
            writer: Mutex::new(writer),
            reader,
            analyzer,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id_term(&self, id: Uuid) -> Term {
        Term::from_field_text(self.fields.id, &id.to_string())
    }

    /// Add or replace a page (`doc.body` must be set; see [`Self::stored`] to keep the old one).
    pub fn upsert(&self, doc: &PageDoc, path: &[String]) -> Result<(), EngineError> {
        let f = &self.fields;
        let mut d = TantivyDocument::new();
        d.add_text(f.id, doc.id.to_string());
        d.add_text(f.workspace, &*doc.workspace);
        d.add_text(f.title, &doc.title);
        d.add_text(f.properties, &doc.properties);
        d.add_text(f.body, doc.body.as_deref().unwrap_or(""));
        d.add_text(f.path, path.join(" / "));
        d.add_text(f.url, &doc.url);
        if let Some(p) = doc.parent_page {
            d.add_text(f.parent, p.to_string());
        }
        if let Some(ds) = doc.data_source {
            d.add_text(f.data_source, ds.to_string());
        }
        d.add_i64(f.edited, doc.edited);
        let writer = self.writer();
        writer.delete_term(self.id_term(doc.id));
        writer.add_document(d)?;
        Ok(())
    }

    pub fn delete(&self, id: Uuid) {
        self.writer().delete_term(self.id_term(id));
    }

    /// Drop every row of a data source (it was deleted).
    pub fn delete_data_source(&self, ds: Uuid) {
        self.writer().delete_term(Term::from_field_text(
            self.fields.data_source,
            &ds.to_string(),
        ));
    }

    /// Make the changes so far durable and visible to searches.
    pub fn commit(&self) -> Result<(), EngineError> {
        self.writer().commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// What the index holds for a page (committed changes only).
    pub fn stored(&self, id: Uuid) -> Result<Option<Stored>, EngineError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(self.id_term(id), IndexRecordOption::Basic);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, addr)) = top.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(*addr)?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let f = &self.fields;
        Ok(Some(Stored {
            title: text(f.title),
            properties: text(f.properties),
            body: text(f.body),
            url: text(f.url),
            edited: doc
                .get_first(f.edited)
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
        }))
    }

    /// Documents of a workspace in the index (committed).
    pub fn count(&self, workspace: &str) -> Result<usize, EngineError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.workspace, workspace),
            IndexRecordOption::Basic,
        );
        Ok(searcher.search(&query, &Count)?)
    }

    /// The best `limit` pages of `workspace` for `clauses` within `filters`, best first.
    pub fn search(
        &self,
        workspace: &str,
        clauses: &[Clause],
        filters: &Filters,
        limit: usize,
    ) -> Result<Vec<Hit>, EngineError> {
        let f = &self.fields;
        let Some(text) = query::build(clauses, f, &self.analyzer) else {
            return Ok(Vec::new());
        };
        let mut musts: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, text.box_clone()),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.workspace, workspace),
                    IndexRecordOption::Basic,
                )),
            ),
        ];
        if let Some(pages) = &filters.pages {
            if pages.is_empty() {
                return Ok(Vec::new());
            }
            let terms = pages.iter().map(|id| self.id_term(*id));
            musts.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if let Some(ds) = filters.data_source {
            musts.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.data_source, &ds.to_string()),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(after) = filters.edited_after {
            musts.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Excluded(Term::from_field_i64(f.edited, after)),
                    Bound::Unbounded,
                )),
            ));
        }
        let query = BooleanQuery::new(musts);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let snippet = |field| -> Result<SnippetGenerator, EngineError> {
            let mut g = SnippetGenerator::create(&searcher, &*text, field)?;
            g.set_max_num_chars(SNIPPET_CHARS);
            Ok(g)
        };
        let (titles, bodies, props) = (snippet(f.title)?, snippet(f.body)?, snippet(f.properties)?);
        let mut hits = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text_of = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let Ok(id) = Uuid::try_parse(&text_of(f.id)) else {
                continue;
            };
            let in_title = !titles.snippet_from_doc(&doc).highlighted().is_empty();
            let body = bodies.snippet_from_doc(&doc);
            let from_props = props.snippet_from_doc(&doc);
            let (snippet, in_content) = if !body.highlighted().is_empty() {
                (body.fragment().to_owned(), true)
            } else if !from_props.highlighted().is_empty() {
                (from_props.fragment().to_owned(), true)
            } else {
                // A prefix match (not highlighted by tantivy) or a title match: the body's start.
                let body = text_of(f.body);
                let start: String = body.chars().take(SNIPPET_CHARS).collect();
                (start, !in_title)
            };
            hits.push(Hit {
                id,
                title: text_of(f.title),
                url: text_of(f.url),
                snippet: one_line(&snippet),
                edited: doc
                    .get_first(f.edited)
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0),
                in_title,
                in_content,
            });
        }
        Ok(hits)
    }

    /// Bytes the index takes on disk (0 in memory).
    pub fn disk_bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    pub fn index(&self) -> &Index {
        &self.index
    }
}

/// A snippet on one line, Markdown markers that only add noise dropped.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c| matches!(c, '#' | '*' | '>' | '`' | '|'));
        if word.is_empty() || word == "-" {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    fn doc(n: u128, title: &str, body: &str, edited: i64) -> PageDoc {
        PageDoc {
            id: Uuid::from_u128(n),
            workspace: Arc::from("w"),
            title: title.into(),
            properties: String::new(),
            body: Some(body.into()),
            url: format!("https://notion.so/{n}"),
            parent_page: None,
            data_source: None,
            edited,
            in_trash: false,
        }
    }

    #[test]
    fn words_phrases_prefixes_filters_and_replacement() {
        let e = Engine::open(None).unwrap();
        e.upsert(
            &doc(
                1,
                "Roadmap",
                "We are planning the quarterly budget review.",
                100,
            ),
            &[],
        )
        .unwrap();
        e.upsert(&doc(2, "Budget", "Nothing else here.", 200), &[])
            .unwrap();
        e.upsert(
            &doc(3, "Notes", "The review of the budget is quarterly.", 300),
            &[],
        )
        .unwrap();
        e.commit().unwrap();
        let q = |text: &str, filters: &Filters| {
            let hits = e
                .search("w", &query::parse(text).unwrap(), filters, 10)
                .unwrap();
            hits.iter().map(|h| h.id.as_u128()).collect::<Vec<_>>()
        };
        let none = Filters::default();
        let mut both = q("budget", &none);
        assert_eq!(both[0], 2, "the title match ranks first");
        both.sort_unstable();
        assert_eq!(both, vec![1, 2, 3]);
        assert_eq!(q("\"quarterly budget\"", &none), vec![1]);
        assert_eq!(q("plans", &none), vec![1], "stemmed");
        let mut pre = q("quart*", &none);
        pre.sort_unstable();
        assert_eq!(pre, vec![1, 3]);
        let after = Filters {
            edited_after: Some(150),
            ..Filters::default()
        };
        let mut recent = q("budget", &after);
        recent.sort_unstable();
        assert_eq!(recent, vec![2, 3]);
        let only = Filters {
            pages: Some(HashSet::from([Uuid::from_u128(3)])),
            ..Filters::default()
        };
        assert_eq!(q("budget", &only), vec![3]);
        let hits = e
            .search("w", &query::parse("planning").unwrap(), &none, 10)
            .unwrap();
        assert!(hits[0].snippet.contains("planning"), "{hits:?}");
        assert!(hits[0].in_content && !hits[0].in_title);
        assert!(
            e.search("other", &query::parse("budget").unwrap(), &none, 10)
                .unwrap()
                .is_empty()
        );
        e.upsert(&doc(1, "Roadmap", "Rewritten.", 400), &[])
            .unwrap();
        e.delete(Uuid::from_u128(3));
        e.commit().unwrap();
        assert_eq!(q("budget", &none), vec![2]);
        assert_eq!(e.count("w").unwrap(), 2);
        assert_eq!(
            e.stored(Uuid::from_u128(1)).unwrap().unwrap().body,
            "Rewritten."
        );
    }
}
