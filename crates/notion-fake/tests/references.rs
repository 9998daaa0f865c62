//! The 25-reference cap in page objects and paginated property items.
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use notion_fake::{Fixture, GeneratedIds};
use serde_json::Value;

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .relation_fanout("Fan", 130)
        .build()
}

#[tokio::test]
async fn page_object_truncates_references() {
    let api = Api::start(fixture(), "ntn_w").await;
    let row = GeneratedIds::source_row("Fan");
    let (s, page) = api.get(&format!("/v1/pages/{row}")).await;
    assert_eq!(s, 200, "{page}");
    let links = &page["properties"]["Links"];
    assert_eq!(links["type"], "relation");
    assert_eq!(links["relation"].as_array().unwrap().len(), 25);
    assert_eq!(links["has_more"], true);
    assert_eq!(
        page["properties"]["People"]["people"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    let notes = page["properties"]["Notes"]["rich_text"].as_array().unwrap();
    assert_eq!(notes.iter().filter(|i| i["type"] == "mention").count(), 25);
    assert_eq!(notes[0]["plain_text"], "@Fan User 0");
}

async fn all_items(api: &Api, row: &str, prop: &str) -> (Vec<Value>, Value) {
    let mut out = Vec::new();
    let mut path = format!("/v1/pages/{row}/properties/{prop}?page_size=40");
    loop {
        let (s, body) = api.get(&path).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["object"], "list");
        assert_eq!(body["type"], "property_item");
        out.extend(body["results"].as_array().unwrap().iter().cloned());
        if body["has_more"] == false {
            assert!(body["property_item"]["next_url"].is_null());
            return (out, body["property_item"].clone());
        }
        let next_url = body["property_item"]["next_url"].as_str().unwrap();
        assert!(next_url.starts_with(api.running.base_url()), "{next_url}");
        path = format!(
            "/v1/pages/{row}/properties/{prop}?page_size=40&start_cursor={}",
            body["next_cursor"].as_str().unwrap()
        );
    }
}

#[tokio::test]
async fn property_items_page_through_full_values() {
    let api = Api::start(fixture(), "ntn_w").await;
    let row = GeneratedIds::source_row("Fan").to_string();
    let (_, page) = api.get(&format!("/v1/pages/{row}")).await;
    let links_id = page["properties"]["Links"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (items, meta) = all_items(&api, &row, &links_id).await;
    assert_eq!(items.len(), 130);
    assert_eq!(meta["type"], "relation");
    assert_eq!(meta["id"], links_id.as_str());
    assert_eq!(items[0]["object"], "property_item");
    assert_eq!(items[0]["type"], "relation");
    assert_eq!(
        items[129]["relation"]["id"],
        GeneratedIds::row("Fan Targets", 129).to_string()
    );

    let people_id = page["properties"]["People"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (people, _) = all_items(&api, &row, &people_id).await;
    assert_eq!(people.len(), 130);
    assert_eq!(people[129]["people"]["name"], "Fan User 129");

    let notes_id = page["properties"]["Notes"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (notes, _) = all_items(&api, &row, &notes_id).await;
    assert_eq!(notes.len(), 130);
    assert_eq!(notes[0]["rich_text"]["type"], "mention");

    let (title, _) = all_items(&api, &row, "title").await;
    assert_eq!(title[0]["title"]["plain_text"], "Fan Source");
}

#[tokio::test]
async fn simple_property_item_is_single_object() {
    let api = Api::start(
        Fixture::builder()
            .workspace("W", "ntn_w")
            .database_with_rows("T", 3)
            .build(),
        "ntn_w",
    )
    .await;
    let row = GeneratedIds::row("T", 2);
    let (_, page) = api.get(&format!("/v1/pages/{row}")).await;
    let num_id = page["properties"]["Number"]["id"].as_str().unwrap();
    let (s, item) = api
        .get(&format!("/v1/pages/{row}/properties/{num_id}"))
        .await;
    assert_eq!(s, 200, "{item}");
    assert_eq!(item["object"], "property_item");
    assert_eq!(item["type"], "number");
    assert_eq!(item["number"], 2);
    // Percent-decoded ids work too.
    let decoded = notion_fake::ids::percent_decode(num_id);
    let encoded: String = url_encode(&decoded);
    let (s, _) = api
        .get(&format!("/v1/pages/{row}/properties/{encoded}"))
        .await;
    assert_eq!(s, 200);
    let (s, body) = api.get(&format!("/v1/pages/{row}/properties/nope")).await;
    common::assert_error(s, &body, 404, "object_not_found");
}

fn url_encode(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}
