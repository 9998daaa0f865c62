//! The `grants` commands never guess: pointed at something that is not the server's store they fail
//! naming it, and create nothing (no directory, no store layout, no sealing key).

#![allow(clippy::unwrap_used)]

use clap::Parser;
use notion_mcp_remote::config::{Cli, Command};
use std::path::{Path, PathBuf};
use std::process::Output;

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("nmr-admin-{}", uuid::Uuid::new_v4()))
}

fn grants(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .arg("grants")
        .args(args)
        .arg("--store-dir")
        .arg(dir)
        .args(["list", "--json"])
        .env_remove("RUST_LOG")
        .env_remove("NOTION_MCP_STORE")
        .env_remove("NOTION_MCP_KEYS")
        .env_remove("NOTION_MCP_KEYS_DIR")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap()
}

fn refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure, got success");
    assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
    assert!(out.stdout.is_empty(), "nothing listed");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_missing_store_directory_is_named_and_not_created() {
    let dir = temp_dir();
    let out = grants(&["--store", "file"], &dir);
    refused(&out, &format!("no grant store in {}", dir.display()));
    assert!(!dir.exists(), "the directory was created");
}

#[test]
fn a_directory_that_is_not_a_store_is_left_as_it_was() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a store").unwrap();
    let out = grants(&["--store", "file"], &dir);
    refused(&out, "nothing was created");
    assert_eq!(entries(&dir), ["notes.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_store_without_its_keys_gets_no_new_key() {
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("grant")).unwrap();
    let out = grants(&["--store", "file"], &dir);
    refused(&out, "has no sealing keys");
    assert_eq!(entries(&dir), ["grant"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_memory_store_is_refused() {
    let dir = temp_dir();
    let out = grants(&["--store", "memory"], &dir);
    refused(&out, "the memory store lives only inside a running server");
}

#[test]
fn an_existing_store_is_listed() {
    // A store the server created (layout and key), empty: the list succeeds and prints nothing.
    let dir = temp_dir();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cli = Cli::try_parse_from([
        "notion-mcp-remote",
        "grants",
        "--store",
        "file",
        "--store-dir",
        dir.to_str().unwrap(),
        "list",
    ])
    .unwrap();
    let Some(Command::Grants(args)) = cli.command else {
        panic!("parsed as a grants command")
    };
    runtime
        .block_on(notion_mcp_remote::store::open::open(&args.store))
        .unwrap();
    let out = grants(&["--store", "file"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn store_options_are_accepted_after_the_action_too() {
    let parse = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
        Some(Command::Grants(args)) => args.store,
        _ => panic!("not a grants command"),
    };
    let before = parse(&[
        "x",
        "grants",
        "--store-dir",
        "/d",
        "--instance",
        "i",
        "list",
    ]);
    let after = parse(&[
        "x",
        "grants",
        "list",
        "--store-dir",
        "/d",
        "--instance",
        "i",
    ]);
    assert_eq!(before.store_dir, after.store_dir);
    assert_eq!(after.store_dir, PathBuf::from("/d"));
    assert_eq!(after.instance, "i");
    let revoke = parse(&[
        "x",
        "grants",
        "revoke",
        "--all",
        "--dry-run",
        "--store",
        "file",
    ]);
    assert_eq!(
        revoke.kind,
        Some(notion_mcp_remote::config::StoreKind::File)
    );
}

#[test]
fn a_dry_run_revokes_nothing() {
    let dir = temp_dir();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let argv = |action: &[&str]| {
        let mut v = vec!["notion-mcp-remote", "grants"];
        v.extend_from_slice(action);
        v.extend(["--store", "file", "--store-dir", dir.to_str().unwrap()]);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let Some(Command::Grants(args)) = Cli::try_parse_from(argv(&["list"])).unwrap().command else {
        panic!()
    };
    let now = notion_mcp_remote::store::now_unix();
    let grant: notion_mcp_remote::store::Grant = serde_json::from_value(serde_json::json!({
        "id": "g1", "client_id": "c1", "audience": "a", "scope": "notion",
        "notion": {"access_token": "ntn_x", "bot_id": "b1", "workspace_id": "w1",
                   "workspace_name": "Acme", "obtained_at": now},
        "refresh": {"hash": "h", "issued_at": now, "expires_at": now + 3600},
        "created_at": now, "last_used_at": now, "expires_at": now + 86_400
    }))
    .unwrap();
    runtime.block_on(async {
        let store = notion_mcp_remote::store::open::open(&args.store)
            .await
            .unwrap();
        store.create("g1", &grant).await.unwrap();
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .args(&argv(&["revoke", "--all", "--dry-run"])[1..])
        .env_remove("NOTION_MCP_STORE")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("would revoke g1 (Acme / c1)"), "{stdout}");
    assert!(
        stdout.contains("1 grant(s) would be revoked (dry run: nothing changed)"),
        "{stdout}"
    );
    // Still there and still active.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .args(&argv(&["list", "--json"])[1..])
        .env_remove("NOTION_MCP_STORE")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("\"grant\":\"g1\"") && listed.contains("\"active\":true"),
        "{listed}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
