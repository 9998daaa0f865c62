//! `resolve_relation` and `join` against the stateful fake: completeness past the 25-reference cap,
//! the data-source scan and the per-page path under a 3 req/s limit, joins (pairs, aggregate, two
//! hops, truncation, filters) and the failure paths.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, json_data, result_text};
use notion_fake::fixture::TokenSpec;
use notion_fake::{
    DatabaseFixture, Fixture, FixtureBuilder, GeneratedIds, PageFixture, RateLimit, TokenFixture,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

const T: &str = "ntn_workspace_w";

fn workspace() -> FixtureBuilder {
    Fixture::builder().workspace("W", T)
}

/// Data rows of the Markdown table in `text` whose first cell starts with `prefix`, as cells.
fn table_rows(text: &str, prefix: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with(&format!("| {prefix}")))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Start with the fake limited to 3 req/s (burst 10) and the server pacing at 3 req/s with burst
/// `pacing_burst` (the pacer keeps one request of it as headroom against transit-time skew).
async fn rate_limited(fixture: Fixture, pacing_burst: u32) -> Harness {
    let h = Harness::start_with(fixture, |a| {
        a.pacing_rps = 3.0;
        a.pacing_burst = pacing_burst;
    })
    .await;
    h.fake().set_rate_limit(Some(RateLimit::new(3.0, 10)));
    h
}

#[tokio::test]
async fn resolve_relation_250_targets_via_the_data_source_without_429s() {
    let h = rate_limited(workspace().relation_fanout("Fan", 250).build(), 10).await;
    let id = GeneratedIds::source_row("Fan").to_string();
    let t = h
        .text(
            T,
            "resolve_relation",
            json!({"page_id": id, "property": "Links"}),
        )
        .await;
    assert!(t.contains("250 related page(s)"), "{}", &t[..300]);
    let rows = table_rows(&t, "Target ");
    assert_eq!(rows.len(), 250);
    for (i, row) in rows.iter().enumerate() {
        // Relation order is kept; every title sits next to its own id.
        assert_eq!(row[0], format!("Target {i}"));
        assert_eq!(row[1], GeneratedIds::row("Fan Targets", i).to_string());
    }
    assert!(
        t.contains("Fetched with 3 data-source queries and 0 page reads"),
        "{}",
        &t[t.len() - 300..]
    );
    assert_eq!(h.fake().count_status(429), 0);
    // JSON output carries the same pages.
    let j = h
        .text(
            T,
            "resolve_relation",
            json!({"page_id": id, "property": "Links", "format": "json", "limit": 30}),
        )
        .await;
    let v: Value = json_data(&j);
    assert_eq!(v["pages"].as_array().unwrap().len(), 30);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["pages"][29]["properties"]["title"], "Target 29");
    assert_eq!(h.fake().count_status(429), 0);
    h.shutdown().await;
}

/// Data source `big-ds` with `n` rows, and `src-ds` whose row `src` links to `targets` of them.
fn sparse_fixture(n: usize, targets: &[usize]) -> Fixture {
    let ids: Vec<Value> = targets
        .iter()
        .map(|i| json!(GeneratedIds::row("Big", *i).to_string()))
        .collect();
    workspace()
        .database_with_rows("Big", n)
        .database(
            DatabaseFixture::new("Source")
                .id("src-db")
                .data_source_id("src-ds")
                .property("Name", json!("title"))
                .property(
                    "Links",
                    json!({"relation": GeneratedIds::data_source("Big").to_string()}),
                )
                .property("Note", json!("rich_text"))
                .row(
                    PageFixture::new("Src")
                        .id("src")
                        .property("Links", Value::Array(ids))
                        .property("Note", json!("hello")),
                ),
        )
        .build()
}

#[tokio::test]
async fn sparse_targets_in_a_large_data_source_are_read_page_by_page_at_the_paced_rate() {
    let targets: Vec<usize> = (0..40).map(|i| i * 100 + 7).collect();
    let h = rate_limited(sparse_fixture(4000, &targets), 10).await;
    h.fake().reset_log();
    let started = Instant::now();
    let t = h
        .text(
            T,
            "resolve_relation",
            json!({"page_id": notion_fake::stable_id("src").to_string(), "property": "Links",
                   "properties": ["Number", "Tag"]}),
        )
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let rows = table_rows(&t, "Row ");
    assert_eq!(rows.len(), 40, "{t}");
    for (row, i) in rows.iter().zip(&targets) {
        assert_eq!(row[0], format!("Row {i}"));
        assert_eq!(row[1], i.to_string());
        assert_eq!(row[2], ["red", "green", "blue"][i % 3]);
    }
    // One probe found too few of the ids, so the rest were read one by one.
    assert!(
        t.contains("Fetched with 1 data-source queries and 39 page reads")
            || t.contains("Fetched with 1 data-source queries and 40 page reads"),
        "{}",
        &t[t.len() - 200..]
    );
    let requests = h.fake().requests().len() as f64;
    let minimum = (requests - 10.0) / 3.0;
    assert!(
        elapsed >= minimum - 0.05,
        "{requests} requests in {elapsed:.2} s, under the limit-bound minimum {minimum:.2} s"
    );
    assert_eq!(h.fake().count_status(429), 0);
    h.shutdown().await;
}

// ------------------------------------------------------------------------------------------ join

/// Related right rows of left row `l`: 30 + 3l of the 200, starting at 7l (all past 25).
fn left_links(l: usize) -> Vec<usize> {
    (0..30 + 3 * l).map(|k| (7 * l + k) % 200).collect()
}

/// Third-side rows of right row `r`: none when `r % 4 == 0`, else two.
fn right_owners(r: usize) -> Vec<usize> {
    if r.is_multiple_of(4) {
        vec![]
    } else {
        vec![r % 20, (r + 5) % 20]
    }
}

fn join_fixture() -> Fixture {
    let third = (0..20).map(|t| PageFixture::new(&format!("T {t}")).id(&format!("t:{t}")));
    let right = (0..200).map(|r| {
        let owners: Vec<Value> = right_owners(r)
            .iter()
            .map(|t| json!(format!("t:{t}")))
            .collect();
        PageFixture::new(&format!("R {r}"))
            .id(&format!("r:{r}"))
            .property("Size", json!(r))
            .property("Owner", Value::Array(owners))
    });
    let left = (0..10).map(|l| {
        let links: Vec<Value> = left_links(l)
            .iter()
            .map(|r| json!(format!("r:{r}")))
            .collect();
        PageFixture::new(&format!("L {l}"))
            .id(&format!("l:{l}"))
            .property("Group", json!(if l % 2 == 0 { "A" } else { "B" }))
            .property("Links", Value::Array(links))
    });
    workspace()
        .database(
            DatabaseFixture::new("Third")
                .id("third-db")
                .data_source_id("third-ds")
                .property("Name", json!("title"))
                .rows(third.collect()),
        )
        .database(
            DatabaseFixture::new("Right")
                .id("right-db")
                .data_source_id("right-ds")
                .property("Name", json!("title"))
                .property("Size", json!("number"))
                .property("Owner", json!({"relation": "third-ds"}))
                .rows(right.collect()),
        )
        .database(
            DatabaseFixture::new("Left")
                .id("left-db")
                .data_source_id("left-ds")
                .property("Name", json!("title"))
                .property("Group", json!({"select": ["A", "B"]}))
                .property("Links", json!({"relation": "right-ds"}))
                .rows(left.collect()),
        )
        .build()
}

fn left_ds() -> String {
    notion_fake::stable_id("left-ds").to_string()
}

#[tokio::test]
async fn join_lists_every_pair_once_and_fetches_each_related_page_once() {
    let h = Harness::start(join_fixture()).await;
    h.fake().reset_log();
    let t = h
        .text(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "columns": ["Name", "Group"],
                   "related_columns": ["Name", "Size"], "max_rows": 5000}),
        )
        .await;
    assert!(
        t.contains("| Name | Group | Links.Name | Links.Size |"),
        "{}",
        &t[..400]
    );
    let mut expected: HashSet<(String, String)> = HashSet::new();
    for l in 0..10 {
        for r in left_links(l) {
            expected.insert((format!("L {l}"), format!("R {r}")));
        }
    }
    let rows = table_rows(&t, "L ");
    assert_eq!(rows.len(), expected.len(), "every pair exactly once");
    let found: HashSet<(String, String)> = rows
        .iter()
        .map(|c| {
            let r: usize = c[2].trim_start_matches("R ").parse().unwrap();
            assert_eq!(c[3], r.to_string(), "right cells belong to the right page");
            let l: usize = c[0].trim_start_matches("L ").parse().unwrap();
            assert_eq!(c[1], if l.is_multiple_of(2) { "A" } else { "B" });
            (c[0].clone(), c[2].clone())
        })
        .collect();
    assert_eq!(found, expected);
    assert!(!t.contains("truncated"));
    // Related pages are fetched once each: no page is read twice.
    let mut reads: HashMap<String, usize> = HashMap::new();
    for r in h.fake().requests() {
        if r.method == http::Method::GET
            && r.path.starts_with("/v1/pages/")
            && !r.path.contains("/properties/")
        {
            *reads.entry(r.path.clone()).or_default() += 1;
        }
    }
    assert!(reads.values().all(|n| *n == 1), "{reads:?}");

    // Over the bound: a clear marker with the exact remainder.
    let t = h
        .text(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "max_rows": 100}),
        )
        .await;
    assert_eq!(table_rows(&t, "L ").len(), 100);
    let total = expected.len();
    assert!(
        t.contains(&format!("truncated: {} more rows", total - 100)),
        "{}",
        &t[t.len() - 300..]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn join_aggregates_filters_and_follows_two_hops() {
    let h = Harness::start(join_fixture()).await;
    // Aggregate: one row per left row, related titles in one cell; the left side filtered.
    let t = h
        .text(
            T,
            "join",
            json!({"id": notion_fake::stable_id("left-db").to_string(), "via": "Links",
                   "mode": "aggregate", "filter": {"property": "Group", "select": {"equals": "A"}},
                   "sorts": [{"property": "Name", "direction": "ascending"}]}),
        )
        .await;
    let rows = table_rows(&t, "L ");
    assert_eq!(rows.len(), 5, "{t}");
    for row in &rows {
        let l: usize = row[0].trim_start_matches("L ").parse().unwrap();
        assert_eq!(l % 2, 0, "filter keeps group A");
        let titles: Vec<&str> = row[1].split("; ").collect();
        let want: Vec<String> = left_links(l).iter().map(|r| format!("R {r}")).collect();
        assert_eq!(titles, want, "all related titles in relation order");
    }

    // Two hops: left → right → third, one row per (left, right, third); right rows without
    // owners appear once with empty third cells.
    let t = h
        .text(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "then_via": "Owner", "max_rows": 5000,
                   "format": "markdown"}),
        )
        .await;
    assert!(
        t.contains("| Name | Links.Name | Links.Owner.Name |"),
        "{}",
        &t[..300]
    );
    let mut expected: Vec<(String, String, String)> = Vec::new();
    for l in 0..10 {
        for r in left_links(l) {
            let owners = right_owners(r);
            if owners.is_empty() {
                expected.push((format!("L {l}"), format!("R {r}"), String::new()));
            }
            for o in owners {
                expected.push((format!("L {l}"), format!("R {r}"), format!("T {o}")));
            }
        }
    }
    let mut found: Vec<(String, String, String)> = table_rows(&t, "L ")
        .into_iter()
        .map(|c| {
            (
                c[0].clone(),
                c[1].clone(),
                c.get(2).cloned().unwrap_or_default(),
            )
        })
        .collect();
    expected.sort();
    found.sort();
    assert_eq!(found.len(), expected.len());
    assert_eq!(found, expected);

    // Two hops aggregated, as JSON.
    let j = h
        .text(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "then_via": "Owner", "mode": "aggregate",
                   "format": "json", "limit": 3}),
        )
        .await;
    let v: Value = json_data(&j);
    assert_eq!(v["rows"].as_array().unwrap().len(), 3);
    assert_eq!(v["left_has_more"], true);
    h.shutdown().await;
}

// -------------------------------------------------------------------------------- failure paths

#[tokio::test]
async fn unknown_and_non_relation_properties_name_the_field() {
    let h = Harness::start(join_fixture()).await;
    let page = notion_fake::stable_id("l:0").to_string();
    let r = h
        .call(
            T,
            "resolve_relation",
            json!({"page_id": page, "property": "Nope"}),
        )
        .await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["field"], "property");
    let text = result_text(&r);
    assert!(text.contains("Links") && text.contains("Group"), "{text}");
    let r = h
        .call(
            T,
            "resolve_relation",
            json!({"page_id": page, "property": "Group"}),
        )
        .await;
    assert!(result_text(&r).contains("is a select property"), "{r}");
    let r = h
        .call(
            T,
            "resolve_relation",
            json!({"page_id": page, "property": "Links", "properties": ["Nope"]}),
        )
        .await;
    assert_eq!(
        r["structuredContent"]["error"]["field"], "properties",
        "{r}"
    );
    assert!(result_text(&r).contains("Size"), "{r}");

    let r = h
        .call(T, "join", json!({"id": left_ds(), "via": "Nope"}))
        .await;
    assert_eq!(r["structuredContent"]["error"]["field"], "via");
    assert!(result_text(&r).contains("Links"), "{r}");
    let r = h
        .call(T, "join", json!({"id": left_ds(), "via": "Group"}))
        .await;
    assert!(result_text(&r).contains("is a select property"), "{r}");
    let r = h
        .call(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "related_columns": ["Colour"]}),
        )
        .await;
    assert_eq!(r["structuredContent"]["error"]["field"], "related_columns");
    assert!(result_text(&r).contains("Size"), "{r}");
    let r = h
        .call(
            T,
            "join",
            json!({"id": left_ds(), "via": "Links", "then_via": "Size"}),
        )
        .await;
    assert_eq!(r["structuredContent"]["error"]["field"], "then_via");
    h.shutdown().await;
}

#[tokio::test]
async fn missing_and_unshared_related_pages_are_reported_not_fatal() {
    // Two real targets and two ids that do not exist (deleted pages).
    let ghost = |n: u128| uuid::Uuid::from_u128(0xdead_0000 + n).to_string();
    let fixture = workspace()
        .database_with_rows("Big", 10)
        .database(
            DatabaseFixture::new("Source")
                .id("src-db")
                .data_source_id("src-ds")
                .property("Name", json!("title"))
                .property(
                    "Links",
                    json!({"relation": GeneratedIds::data_source("Big").to_string()}),
                )
                .row(PageFixture::new("Src").id("src").property(
                    "Links",
                    json!([
                        GeneratedIds::row("Big", 1).to_string(),
                        ghost(1),
                        GeneratedIds::row("Big", 2).to_string(),
                        ghost(2)
                    ]),
                )),
        )
        .token(TokenFixture::Spec(TokenSpec {
            token: "ntn_limited".into(),
            shared: Some(vec!["src-db".into()]),
            ..TokenSpec::default()
        }))
        .build();
    let h = Harness::start(fixture).await;
    let src = notion_fake::stable_id("src").to_string();
    let t = h
        .text(
            T,
            "resolve_relation",
            json!({"page_id": src, "property": "Links"}),
        )
        .await;
    assert!(t.contains("4 related page(s), 2 inaccessible"), "{t}");
    assert_eq!(
        t.matches("(inaccessible: object_not_found)").count(),
        2,
        "{t}"
    );
    assert!(t.contains("| Row 1 |") && t.contains("| Row 2 |"), "{t}");

    // The related database is not shared with this token: every target is inaccessible.
    let t = h
        .text(
            "ntn_limited",
            "resolve_relation",
            json!({"page_id": src, "property": "Links"}),
        )
        .await;
    assert!(t.contains("4 inaccessible"), "{t}");
    let t = h
        .text(
            "ntn_limited",
            "join",
            json!({"id": notion_fake::stable_id("src-ds").to_string(), "via": "Links"}),
        )
        .await;
    assert_eq!(table_rows(&t, "Src").len(), 4, "{t}");
    assert!(t.contains("4 related page(s) are inaccessible"), "{t}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_relation_tools_are_listed_compactly() {
    let h = Harness::start(workspace().build()).await;
    let v = h.rpc(Some(T), "tools/list", json!({})).await;
    let tools = v["result"]["tools"].as_array().unwrap();
    let mut bytes = 0;
    for name in ["resolve_relation", "join"] {
        let t = tools.iter().find(|t| t["name"] == name).unwrap();
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
        assert!(t["description"].as_str().unwrap().len() <= 250, "{t}");
        bytes += t.to_string().len();
    }
    eprintln!(
        "relation tools: {bytes} of {} bytes of tools/list ({} tools)",
        v["result"].to_string().len(),
        tools.len()
    );
    assert!(bytes < 2_450, "{bytes} bytes");
    h.shutdown().await;
}
