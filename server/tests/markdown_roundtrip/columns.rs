//! Column lists through appends: sent in the shape Notion requires (two or more columns, each with
//! a child, in the request that creates the list), then read back as the same Markdown.

use super::{
    AppendPosition, Value, append_blocks, append_requests, assert_same, count, levels,
    markdown_to_blocks, normalize, read_back, render_json, stable_id, start,
};

/// Every append request carried each new column list with at least two columns, each holding at
/// least one child, within two nesting levels.
fn assert_column_lists_complete(children: &[Value]) {
    for b in children {
        let kind = b["type"].as_str().unwrap();
        let kids = b[kind]["children"].as_array().cloned().unwrap_or_default();
        if kind == "column_list" {
            assert!(
                kids.len() >= 2,
                "column list sent with {} columns",
                kids.len()
            );
        }
        if kind == "column_list" || kind == "column" {
            for col in kids.iter().filter(|k| k["type"] == "column") {
                let n = col["column"]["children"].as_array().map_or(0, Vec::len);
                assert!(n >= 1, "column sent without children");
            }
        }
        if kind == "column" {
            assert!(!kids.is_empty(), "column sent without children");
        }
        assert_column_lists_complete(&kids);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_round_trip_in_the_shape_notion_requires() {
    let (fake, client, auth, _) = start().await;
    let page = stable_id("doc").to_string();
    // Nested lists deeper than a request allows, a table as a column's first block (its rows
    // cannot go three levels down), a column of 150 paragraphs, and columns inside a toggle.
    let long: String = (0..150).map(|i| format!("\t\tline {i}\n\n")).collect();
    let md = format!(
        "Before\n\n<columns>\n\t<column>\n\t\tLeft\n\n\t\t- a\n\t\t\t- b\n\t\t\t\t- c\n\
         \t\t- d\n\t</column>\n\t<column>\n\t\t| x | y |\n\t\t| --- | --- |\n\t\t| 1 | 2 |\n\n\
         \t\tUnder the table\n\t</column>\n\t<column>\n{long}\t</column>\n</columns>\n\n\
         <columns>\n\t<column>\n\t\tOne\n\t</column>\n\t<column>\n\t\tTwo\n\t</column>\n</columns>\n\n\
         <details>\n<summary>Inside a toggle</summary>\n\t<columns>\n\t\t<column>\n\t\t\tThree\n\t\t</column>\n\
         \t\t<column>\n\t\t\tFour\n\t\t</column>\n\t</columns>\n</details>\n\nAfter"
    );
    let parsed = markdown_to_blocks(&md).unwrap();
    assert_eq!(
        render_json(&parsed),
        render_json(&markdown_to_blocks(&render_json(&parsed)).unwrap())
    );
    let second = &parsed[1]["column_list"]["children"][1]["column"]["children"][0];
    assert_eq!(second["type"], "table");
    assert_eq!(parsed[3]["toggle"]["children"][0]["type"], "column_list");
    let total = count(&parsed);
    fake.reset_log();
    let out = append_blocks(&client, &auth, &page, parsed.clone(), AppendPosition::End)
        .await
        .unwrap();
    assert_eq!(fake.count_status(400), 0, "{:?}", fake.requests().last());
    assert_eq!(out.blocks, total);
    assert_eq!(out.first_level_ids.len(), parsed.len());
    let sent = append_requests(&fake);
    assert_eq!(sent.len(), out.requests);
    for (children, _) in &sent {
        assert!(children.len() <= 100);
        assert!(levels(children) <= 3, "at most two levels below the top");
        assert_column_lists_complete(children);
    }
    // The first column list went in one request with its three columns.
    let first = sent
        .iter()
        .flat_map(|(c, _)| c.iter())
        .find(|b| b["type"] == "column_list")
        .unwrap();
    assert_eq!(
        first["column_list"]["children"].as_array().unwrap().len(),
        3
    );
    let back = read_back(&client, &auth, &page).await;
    assert_same(&normalize(&back), &normalize(&render_json(&parsed)));
    // The table's column got a stand-in first block, removed once the table existed.
    let deletes = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == http::Method::DELETE)
        .count();
    assert_eq!(deletes, 1);
    assert!(!back.contains("<empty-block/>"), "{back}");
}
