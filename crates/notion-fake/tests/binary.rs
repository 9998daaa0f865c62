//! The `notion-fake` binary prints its address and serves the sample fixture.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_serves_the_sample() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_notion-fake"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("notion-fake listening on ")
        .unwrap()
        .to_string();
    let resp = common::client()
        .get(format!("{base}/v1/users/me"))
        .bearer_auth("ntn_demo_acme")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["bot"]["workspace_name"], "Acme Demo");
    child.kill().unwrap();
    child.wait().unwrap();
}
