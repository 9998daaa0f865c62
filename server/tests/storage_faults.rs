//! The grant store under crashes and sharing, with the real server binary as a child process on a
//! file store: SIGKILL at random moments of a burst of logins and refreshes, then restart on the same
//! directory and port and check that nothing a client received was lost, that rotated refresh tokens
//! stay dead, and what a client retrying a request lost in the crash sees; and two processes sharing
//! one directory never rotate one refresh token twice. (The Kubernetes store's faults are tested
//! against its in-memory API server, in the crate's own tests.)
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;

use common::child::{ChildServer, free_port, tempdir};
use notion_fake::{FakeNotion, Fixture, RunningFake};
use notion_mcp_remote::oauth::rotation::RETRIES_HONOURED;
use oauth_support::{Connected, Endpoint, TestClient, child_endpoint};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longer than any test run, so every reuse below is judged by the retry rule, never revokes.
const GRACE_SECS: &str = "600";

/// A client's view of one grant.
#[derive(Debug, Clone)]
struct Held {
    client: TestClient,
    grant_id: String,
    access: String,
    refresh: String,
    /// Refresh tokens whose successor this client received.
    retired: Vec<String>,
    /// A refresh sent whose answer never arrived (the token sent).
    lost: Option<String>,
}

impl Held {
    fn new(c: Connected) -> Self {
        Held {
            grant_id: grant_of(&c.access),
            client: c.client,
            access: c.access,
            refresh: c.refresh,
            retired: Vec::new(),
            lost: None,
        }
    }

    /// Take a refresh answer for `sent`.
    fn rotated(&mut self, sent: String, answer: &Value, issued: &Issued) {
        self.access = answer["access_token"].as_str().unwrap().to_string();
        self.refresh = answer["refresh_token"].as_str().unwrap().to_string();
        issued.record(&self.refresh);
        self.retired.push(sent);
        self.lost = None;
    }
}

/// Every refresh token value a client received: none may come twice.
#[derive(Default, Clone)]
struct Issued(Arc<Mutex<HashSet<String>>>);

impl Issued {
    fn record(&self, refresh: &str) {
        let fresh = self.0.lock().unwrap().insert(refresh.to_string());
        assert!(fresh, "a refresh token value was issued twice");
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn grant_of(token: &str) -> String {
    let rest = token
        .strip_prefix("nmr_at_")
        .or_else(|| token.strip_prefix("nmr_rt_"))
        .unwrap();
    rest.split_once('.').unwrap().0.to_string()
}

fn server_args(fake: &RunningFake, port: u16, dir: &Path) -> (Vec<String>, Endpoint) {
    let (mut args, ep) = child_endpoint(fake, port);
    args.extend(
        [
            "--store",
            "file",
            "--store-dir",
            dir.to_str().unwrap(),
            "--refresh-reuse-grace-secs",
            GRACE_SECS,
        ]
        .map(String::from),
    );
    (args, ep)
}

/// `grants list --json` on the store directory: the grant ids.
fn cli_grants(dir: &Path) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .args(["grants", "--store", "file", "--store-dir"])
        .arg(dir)
        .args(["list", "--json"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grants list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["grant"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Temporary files anywhere under the store directory.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for kind in std::fs::read_dir(dir).unwrap().flatten() {
        if let Ok(files) = std::fs::read_dir(kind.path()) {
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().to_string();
                if name.starts_with(".tmp-") {
                    found.push(name);
                }
            }
        }
    }
    found
}

/// A tool call with `access`: the HTTP status and whether the tool answered without error.
async fn call_tool(ep: &Endpoint, access: &str) -> (u16, bool) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "search", "arguments": {"query": ""}}});
    let resp = ep
        .http
        .post(format!("{}/mcp", ep.base))
        .bearer_auth(access)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let v = common::parse_body(&resp.text().await.unwrap());
    (
        status,
        v.get("error").is_none() && v["result"]["isError"] != json!(true),
    )
}

async fn start_fake() -> RunningFake {
    FakeNotion::start(Fixture::sample()).await.unwrap()
}

#[path = "storage_faults/crash.rs"]
mod crash;
#[path = "storage_faults/shared.rs"]
mod shared;
