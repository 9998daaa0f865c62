//! People given by name or email and related pages given by title, in `create_page` and
//! `update_page` properties, against the stateful fake: what is written, and the errors for
//! ambiguous and unknown names. Also `relations: "titles"` on `query_data_source` and `get_views`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, error_of, first_id, id, json_data, result_text};
use notion_fake::fixture::TokenSpec;
use notion_fake::{DatabaseFixture, Fixture, PageFixture, TokenFixture};
use serde_json::json;
use std::collections::HashMap;

const T: &str = "ntn_workspace_w";
const NARROW: &str = "ntn_workspace_narrow";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .user("Ann Lee", "ann@example.com")
        .user("Sam Park", "sam.p@example.com")
        .user("Sam Park", "sam.park@example.org")
        .user("Bob Stone", "bob@example.com")
        .page(PageFixture::new("Home").id("home"))
        .database(
            DatabaseFixture::new("Projects")
                .id("projects")
                .data_source_id("projects-ds")
                .parent_page("home")
                .property("Name", json!("title"))
                .rows(vec![
                    PageFixture::new("Apollo").id("apollo"),
                    PageFixture::new("Mercury").id("mercury"),
                    PageFixture::new("Gemini").id("gemini-1"),
                    PageFixture::new("Gemini").id("gemini-2"),
                    PageFixture::new("Paris, France").id("paris"),
                    PageFixture::new("Orion").id("orion-upper"),
                    PageFixture::new("orion").id("orion-lower"),
                ]),
        )
        .database(
            DatabaseFixture::new("Tasks")
                .id("tasks")
                .data_source_id("tasks-ds")
                .parent_page("home")
                .property("Name", json!("title"))
                .property("Owner", json!("people"))
                .property("Project", json!({"relation": "projects-ds"}))
                .rows(vec![
                    PageFixture::new("Launch")
                        .id("launch")
                        .property("Project", json!(["apollo", "mercury"])),
                    PageFixture::new("Review")
                        .id("review")
                        .property("Project", json!(["apollo"])),
                    PageFixture::new("Idle").id("idle"),
                ]),
        )
        .build()
}

/// User name → ids, from `list_users`.
async fn users(h: &Harness) -> HashMap<String, Vec<String>> {
    let j = json_data(&h.text(T, "list_users", json!({"format": "json"})).await);
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for u in j["results"].as_array().unwrap() {
        let name = u["name"].as_str().unwrap_or("").to_string();
        out.entry(name)
            .or_default()
            .push(u["id"].as_str().unwrap().to_string());
    }
    out
}

/// The ids a page's people or relation property holds.
async fn ids_of(h: &Harness, page: &str, property: &str) -> Vec<String> {
    let j = json_data(
        &h.text(T, "get_page", json!({"id": page, "format": "json"}))
            .await,
    );
    let p = &j["properties"][property];
    let kind = p["type"].as_str().unwrap_or_else(|| panic!("{j}"));
    p[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// How many requests the fake got for `method path-prefix` since the last reset.
fn count(h: &Harness, method: &str, prefix: &str) -> usize {
    h.fake()
        .requests()
        .iter()
        .filter(|r| r.method.as_str() == method && r.path.starts_with(prefix))
        .count()
}

fn tasks() -> String {
    id("tasks")
}

#[tokio::test]
async fn people_by_name_and_email_and_relations_by_title_are_written_as_ids() {
    let h = Harness::start(fixture()).await;
    let u = users(&h).await;
    let (ann, bob) = (u["Ann Lee"][0].clone(), u["Bob Stone"][0].clone());
    h.fake().reset_log();
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": tasks(), "title": "Plan", "properties": {
                // A name in another case, an email, and an id, in one list.
                "Owner": ["ann LEE", "bob@example.com", ann.clone()],
                // A title, an id, and a title with a comma in it.
                "Project": ["Apollo", id("mercury"), "Paris, France"],
            }}),
        )
        .await;
    // One listing of the users for the whole call, and one title query per distinct title.
    assert_eq!(count(&h, "GET", "/v1/users"), 1);
    assert_eq!(count(&h, "POST", "/v1/data_sources/"), 2);
    let sent = h
        .fake()
        .requests()
        .into_iter()
        .find(|r| r.method == http::Method::POST && r.path == "/v1/pages")
        .unwrap()
        .body
        .unwrap();
    assert_eq!(
        sent["properties"]["Owner"],
        json!({"people": [{"id": ann}, {"id": bob}, {"id": ann}]})
    );
    let page = first_id(&t);
    assert_eq!(
        ids_of(&h, &page, "Owner").await,
        [ann.clone(), bob.clone(), ann.clone()]
    );
    assert_eq!(
        ids_of(&h, &page, "Project").await,
        [id("apollo"), id("mercury"), id("paris")]
    );

    // A comma-separated string: names split at commas, a title with a comma kept whole.
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": tasks(), "title": "Pair", "properties": {
                "Owner": "Ann Lee, bob@example.com", "Project": "Paris, France"}}),
        )
        .await;
    let page = first_id(&t);
    assert_eq!(ids_of(&h, &page, "Owner").await, [ann.clone(), bob.clone()]);
    assert_eq!(ids_of(&h, &page, "Project").await, [id("paris")]);

    // update_page resolves the same way; a unique exact-case title wins over case variants.
    h.text(
        T,
        "update_page",
        json!({"id": page, "properties": {"Owner": "bob@example.com", "Project": "Orion"}}),
    )
    .await;
    assert_eq!(ids_of(&h, &page, "Owner").await, std::slice::from_ref(&bob));
    assert_eq!(ids_of(&h, &page, "Project").await, [id("orion-upper")]);
    // Objects naming an email, a name or a title instead of an id.
    h.text(
        T,
        "update_page",
        json!({"id": page, "properties": {"Owner": [{"email": "ann@example.com"}, {"name": "Bob Stone"}],
            "Project": {"title": "Mercury"}}}),
    )
    .await;
    assert_eq!(ids_of(&h, &page, "Owner").await, [ann, bob]);
    assert_eq!(ids_of(&h, &page, "Project").await, [id("mercury")]);
    h.shutdown().await;
}

#[tokio::test]
async fn ambiguous_and_unknown_names_are_errors_that_say_what_to_send() {
    let h = Harness::start(fixture()).await;
    let u = users(&h).await;
    let sams = &u["Sam Park"];
    assert_eq!(sams.len(), 2);
    h.fake().reset_log();
    let cases = [
        (
            json!({"Owner": "sam park"}),
            "properties.Owner",
            vec![
                "\"sam park\" matches 2 users".to_string(),
                format!("Sam Park <sam.p@example.com> ({})", sams[0]),
                format!("Sam Park <sam.park@example.org> ({})", sams[1]),
                "send one of their ids or emails".into(),
            ],
        ),
        (
            json!({"Owner": ["Ann Lee", "Nobody"]}),
            "properties.Owner[1]",
            vec![
                "no user is named \"Nobody\" or has that email".into(),
                "send a user id, or a name or email as list_users shows them".into(),
            ],
        ),
        (
            // Emails match exactly.
            json!({"Owner": "ANN@example.com"}),
            "properties.Owner",
            vec!["no user is named \"ANN@example.com\"".into()],
        ),
        (
            json!({"Project": "Gemini"}),
            "properties.Project",
            vec![
                "2 pages of the related data source are titled \"Gemini\"".into(),
                format!("\"Gemini\" ({})", id("gemini-1")),
                format!("\"Gemini\" ({})", id("gemini-2")),
                "send the id of the one you mean".into(),
            ],
        ),
        (
            json!({"Project": ["Apollo", "Zeus"]}),
            "properties.Project[1]",
            vec![
                format!(
                    "no page titled \"Zeus\" in the related data source {}",
                    id("projects-ds")
                ),
                "send the page's id or URL, or its exact title".into(),
            ],
        ),
    ];
    for (props, field, wants) in cases {
        let r = h
            .call(
                T,
                "create_page",
                json!({"parent": tasks(), "title": "X", "properties": props}),
            )
            .await;
        let e = error_of(&r);
        assert_eq!(e["field"], field, "{props}: {r}");
        let text = result_text(&r);
        for want in &wants {
            assert!(
                text.contains(want.as_str()),
                "{props}: want {want:?} in {text}"
            );
        }
    }
    // Nothing was written.
    assert_eq!(count(&h, "POST", "/v1/pages"), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn a_relation_to_an_unshared_data_source_says_to_send_ids() {
    // A second integration that sees the tasks but not the projects they relate to.
    let mut f = fixture();
    f.workspaces[0].tokens.push(TokenFixture::Spec(TokenSpec {
        token: NARROW.into(),
        shared: Some(vec!["tasks".into()]),
        ..TokenSpec::default()
    }));
    let h = Harness::start(f).await;
    let r = h
        .call(
            NARROW,
            "create_page",
            json!({"parent": tasks(), "properties": {"Project": "Apollo"}}),
        )
        .await;
    let text = result_text(&r);
    assert_eq!(error_of(&r)["field"], "properties.Project", "{r}");
    assert!(
        text.contains(&format!(
            "the related data source {} is not shared with this integration, so \"Apollo\" cannot \
             be looked up; send page ids",
            id("projects-ds")
        )),
        "{text}"
    );
    h.shutdown().await;
}

/// Data rows of a Markdown table whose first cell is `first`.
fn row<'a>(text: &'a str, first: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("| {first} |")))
        .unwrap_or_else(|| panic!("no row {first} in {text}"))
}

#[tokio::test]
async fn query_rows_can_show_relation_titles() {
    let h = Harness::start(fixture()).await;
    let plain = h.text(T, "query_data_source", json!({"id": tasks()})).await;
    let launch = row(&plain, "Launch");
    assert!(launch.contains(&id("apollo")), "{launch}");
    assert!(!launch.contains("Apollo"), "ids by default: {launch}");

    h.fake().reset_log();
    let titled = h
        .text(
            T,
            "query_data_source",
            json!({"id": tasks(), "relations": "titles"}),
        )
        .await;
    let launch = row(&titled, "Launch");
    assert!(
        launch.contains(&format!(
            "Apollo ({}), Mercury ({})",
            id("apollo"),
            id("mercury")
        )),
        "{launch}"
    );
    assert!(
        row(&titled, "Review").contains(&format!("Apollo ({})", id("apollo"))),
        "{titled}"
    );
    // Apollo is related twice but read at most once.
    let reads = |page: &str| {
        h.fake()
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::GET && r.path == format!("/v1/pages/{page}"))
            .count()
    };
    assert!(reads(&id("apollo")) <= 1, "{:?}", h.fake().requests());
    assert!(reads(&id("mercury")) <= 1);

    // Only the shown columns' relations are looked up; JSON carries the titles too.
    h.fake().reset_log();
    h.text(
        T,
        "query_data_source",
        json!({"id": tasks(), "relations": "titles", "columns": ["Owner"]}),
    )
    .await;
    assert_eq!(count(&h, "GET", "/v1/pages/"), 0);
    let j = json_data(
        &h.text(
            T,
            "query_data_source",
            json!({"id": tasks(), "relations": "titles", "format": "json"}),
        )
        .await,
    );
    let launch = j["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(id("launch")))
        .unwrap();
    assert_eq!(
        launch["properties"]["Project"]["relation"][0]["title"],
        "Apollo"
    );

    let r = h
        .call(
            T,
            "query_data_source",
            json!({"id": tasks(), "relations": "names"}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "relations", "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn view_rows_can_show_relation_titles() {
    let h = Harness::start(fixture()).await;
    let views = h.text(T, "get_views", json!({"database": tasks()})).await;
    let view = first_id(&views);
    let t = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "relations": "titles"}),
        )
        .await;
    assert!(
        row(&t, "Launch").contains(&format!("Apollo ({})", id("apollo"))),
        "{t}"
    );
    let plain = h
        .text(T, "get_views", json!({"rows": true, "view": view}))
        .await;
    assert!(!row(&plain, "Launch").contains("Apollo"), "{plain}");
    h.shutdown().await;
}
