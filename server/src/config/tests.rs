//! Parsing and validation of the serve flags.

use super::*;

fn args(extra: &[&str]) -> ServeArgs {
    let mut argv = vec!["notion-mcp-remote"];
    if !extra.contains(&"--auth-mode") {
        argv.extend_from_slice(&["--auth-mode", "notion-token"]);
    }
    argv.extend_from_slice(extra);
    Cli::try_parse_from(argv).expect("parses").serve
}

#[test]
fn default_public_url_is_localhost_with_listen_port() {
    let s = Settings::from_args(args(&["--listen", "127.0.0.1:9000"])).expect("valid");
    assert_eq!(s.mcp_url(), "http://localhost:9000/mcp");
    assert!(s.allowed_hosts.contains(&"127.0.0.1:9000".to_string()));
    assert!(
        s.allowed_origins
            .contains(&"http://127.0.0.1:9000".to_string())
    );
    assert!(
        !s.allowed_origins
            .contains(&"http://127.0.0.1:9001".to_string())
    );
}

#[test]
fn public_url_host_and_extra_hosts_are_allowed() {
    let s = Settings::from_args(args(&[
        "--public-url",
        "https://Notion.Example.ts.net",
        "--allowed-hosts",
        "notion-mcp,notion-mcp:8080",
    ]))
    .expect("valid");
    assert_eq!(s.public_base, "https://notion.example.ts.net");
    for h in ["notion.example.ts.net", "notion-mcp", "notion-mcp:8080"] {
        assert!(s.allowed_hosts.contains(&h.to_string()), "{h}");
    }
    assert!(!s.allowed_hosts.contains(&"localhost".to_string()));
}

#[test]
fn bad_settings_name_the_flag() {
    let e = Settings::from_args(args(&["--public-url", "https://x.example/mcp"])).unwrap_err();
    assert_eq!(e.flag, "--public-url");
    let e = Settings::from_args(args(&["--allowed-origins", "app.example"])).unwrap_err();
    assert_eq!(e.flag, "--allowed-origins");
    let e = Settings::from_args(args(&["--pacing-rps", "0"])).unwrap_err();
    assert_eq!(e.flag, "--pacing-rps");
    let e = Settings::from_args(args(&["--workspace-pacing-rps", "inf"])).unwrap_err();
    assert_eq!(e.flag, "--workspace-pacing-rps");
    assert!(Settings::from_args(args(&["--workspace-pacing-rps", "0"])).is_ok());
    let e = Settings::from_args(args(&["--otlp-endpoint", "grpc://c:4317"])).unwrap_err();
    assert_eq!(e.flag, "--otlp-endpoint");
    let e = Settings::from_args(args(&["--auth-mode", "oauth"])).unwrap_err();
    assert_eq!(e.flag, "--notion-oauth-client-id");
    assert!(
        e.message.contains("NOTION_OAUTH_CLIENT_ID"),
        "{}",
        e.message
    );
}

#[test]
fn secrets_are_not_printed() {
    let a = args(&[
        "--auth-mode",
        "oauth",
        "--notion-oauth-client-id",
        "cid",
        "--notion-oauth-client-secret",
        "very-secret-value",
        "--keys",
        "k1:c2VjcmV0LWtleS1tYXRlcmlhbA",
    ]);
    let s = Settings::from_args(a).expect("valid");
    let printed = format!("{s:?}");
    assert!(!printed.contains("very-secret-value"));
    assert!(!printed.contains("c2VjcmV0"));
}

#[test]
fn content_index_settings_name_their_flag() {
    for share in ["0", "1.5", "NaN"] {
        let e = Settings::from_args(args(&["--index-crawl-share", share]));
        assert_eq!(
            e.err().map(|e| e.flag),
            Some("--index-crawl-share"),
            "{share}"
        );
    }
    let s = Settings::from_args(args(&["--index-crawl-share", "1", "--store", "memory"]))
        .expect("valid");
    assert_eq!(
        s.content_index_dir(),
        Some(None),
        "in memory without the file store"
    );
    let s = Settings::from_args(args(&["--store", "file", "--store-dir", "/data"])).expect("valid");
    assert_eq!(
        s.content_index_dir(),
        Some(Some(std::path::PathBuf::from("/data/content-index")))
    );
    let s =
        Settings::from_args(args(&["--index-dir", "/idx", "--store", "memory"])).expect("valid");
    assert_eq!(
        s.content_index_dir(),
        Some(Some(std::path::PathBuf::from("/idx")))
    );
    let s = Settings::from_args(args(&["--no-content-index"])).expect("valid");
    assert_eq!(s.content_index_dir(), None);
}
