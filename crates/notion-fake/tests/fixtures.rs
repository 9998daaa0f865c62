//! Fixture loading from YAML and JSON, shorthand forms, builder generators, bad fixtures.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, title_of};
use notion_fake::{FakeNotion, Fixture, GeneratedIds, stable_id};
use serde_json::json;

const YAML: &str = r#"
workspaces:
  - name: Yaml Co
    tokens: [ntn_yaml]
    users: [{ id: u1, name: Una, email: una@yaml.example }]
    pages:
      - id: root
        title: "Root **page**"
        children:
          - "plain string paragraph"
          - { type: paragraph, text: "typed *text*" }
          - { heading_2: Section }
          - { type: to_do, to_do: { rich_text: [{ type: text, text: { content: Full form } }], checked: true } }
          - toggle: Toggle
            children:
              - bulleted_list_item: nested
          - child_page: { id: sub, title: Sub page }
    databases:
      - id: db
        parent: { page_id: root }
        title: People DB
        properties: { Name: title, Who: people, Score: number }
        rows:
          - { title: Row A, properties: { Who: [Una], Score: 3 } }
    comments:
      - { parent: root, text: "hello" }
"#;

#[tokio::test]
async fn yaml_fixture_with_shorthand() {
    let fixture = Fixture::from_yaml_str(YAML).unwrap();
    let api = Api::start(fixture, "ntn_yaml").await;
    let root = stable_id("root");
    let (s, page) = api.get(&format!("/v1/pages/{root}")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(title_of(&page), "Root page");
    let kids = api.get_all(&format!("/v1/blocks/{root}/children")).await;
    let kinds: Vec<&str> = kids.iter().map(|k| k["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "paragraph",
            "paragraph",
            "heading_2",
            "to_do",
            "toggle",
            "child_page",
            "child_database"
        ]
    );
    assert_eq!(
        kids[1]["paragraph"]["rich_text"][1]["annotations"]["italic"],
        true
    );
    assert_eq!(kids[3]["to_do"]["checked"], true);
    assert_eq!(kids[5]["id"], stable_id("sub").to_string());
    let ds = stable_id(&format!("{}:data_source", stable_id("db")));
    let (s, q) = api
        .post(&format!("/v1/data_sources/{ds}/query"), json!({}))
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(
        q["results"][0]["properties"]["Who"]["people"][0]["id"],
        stable_id("u1").to_string()
    );
}

#[tokio::test]
async fn json_fixture_loads() {
    let text = json!({
        "seed": 7,
        "workspaces": [{
            "id": "3f1c8a2e-0b7d-4c55-9e61-2a7b9c0d1e2f",
            "name": "Json Co",
            "tokens": [{"token": "ntn_json", "name": "Json bot"}],
            "pages": [{"id": "5a0f3c1e9d2b4e7f8a6c1b2d3e4f5a6b", "title": [{"type": "text", "text": {"content": "From JSON"}}]}]
        }]
    })
    .to_string();
    let fixture = Fixture::from_json_str(&text).unwrap();
    let api = Api::start(fixture, "ntn_json").await;
    let (s, page) = api
        .get("/v1/pages/5a0f3c1e-9d2b-4e7f-8a6c-1b2d3e4f5a6b")
        .await;
    assert_eq!(s, 200);
    assert_eq!(title_of(&page), "From JSON");
    let (_, me) = api.get("/v1/users/me").await;
    assert_eq!(me["name"], "Json bot");
    assert_eq!(
        me["bot"]["workspace_id"],
        "3f1c8a2e-0b7d-4c55-9e61-2a7b9c0d1e2f"
    );
}

#[test]
fn from_path_by_extension() {
    let dir = std::env::temp_dir().join(format!("notion-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("f.yaml");
    std::fs::write(&yaml, YAML).unwrap();
    assert_eq!(
        Fixture::from_path(&yaml).unwrap().workspaces[0].name,
        "Yaml Co"
    );
    let json_path = dir.join("f.json");
    std::fs::write(
        &json_path,
        serde_json::to_string(&Fixture::from_yaml_str(YAML).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        Fixture::from_path(&json_path).unwrap().workspaces[0].name,
        "Yaml Co"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_fixtures_are_reported() {
    assert!(Fixture::from_yaml_str("workspaces: [{ name: X, bogus: 1 }]").is_err());
    let dangling = Fixture::from_yaml_str(
        "workspaces: [{ name: X, databases: [{ title: D, properties: { Name: title, R: { relation: nowhere } } }] }]",
    )
    .unwrap();
    assert!(FakeNotion::try_new(dangling).is_err());
    let bad_block = Fixture::from_yaml_str(
        "workspaces: [{ name: X, pages: [{ title: P, children: [{ marquee: hi }] }] }]",
    )
    .unwrap();
    assert!(FakeNotion::try_new(bad_block).is_err());
}

#[tokio::test]
async fn builder_generators() {
    let fixture = Fixture::builder()
        .workspace("G", "ntn_g")
        .block_tree("Tree", 3, 2)
        .pages(3, "P")
        .build();
    let api = Api::start(fixture, "ntn_g").await;
    let tree = GeneratedIds::named("Tree");
    let level1 = api.get_all(&format!("/v1/blocks/{tree}/children")).await;
    assert_eq!(level1.len(), 2);
    let level2 = api
        .get_all(&format!(
            "/v1/blocks/{}/children",
            level1[1]["id"].as_str().unwrap()
        ))
        .await;
    let level3 = api
        .get_all(&format!(
            "/v1/blocks/{}/children",
            level2[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(level3[1]["toggle"]["rich_text"][0]["plain_text"], "2.1.2");
    assert_eq!(level3[1]["has_children"], false);
    let (s, p) = api
        .get(&format!("/v1/pages/{}", GeneratedIds::page("P", 2)))
        .await;
    assert_eq!(s, 200);
    assert_eq!(title_of(&p), "P 2");
}

#[tokio::test]
async fn users_of_the_same_name_are_distinct_people() {
    let fixture = Fixture::builder()
        .workspace("W", "ntn_w")
        .user("Sam Park", "sam@a.example")
        .user("Sam Park", "sam@b.example")
        .build();
    let api = Api::start(fixture, "ntn_w").await;
    let users = api.get_all("/v1/users").await;
    let sams: Vec<(&str, &str)> = users
        .iter()
        .filter(|u| u["name"] == "Sam Park")
        .map(|u| {
            (
                u["id"].as_str().unwrap(),
                u["person"]["email"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(sams.len(), 2, "{users:?}");
    assert_ne!(sams[0].0, sams[1].0);
    assert_eq!([sams[0].1, sams[1].1], ["sam@a.example", "sam@b.example"]);
}
