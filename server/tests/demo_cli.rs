//! `demo` from the command line: it binds before printing anything, so a port in use fails with the
//! address named and no banner, and `--listen` takes a host name such as `localhost`.

#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used)]

use notion_mcp_remote::config::parse_listen_addr;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn demo(listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"));
    cmd.args(["demo", "--listen", listen, "--log-format", "json"])
        .env_remove("NOTION_MCP_LISTEN")
        .env_remove("NOTION_MCP_SESSIONS")
        .env("NOTION_MCP_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn a_port_in_use_fails_naming_the_address_without_a_banner() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let out = demo(&addr).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "demo succeeded on a port in use");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("--listen"), "no hint in: {stderr}");
    assert!(!stdout.contains("MCP endpoint"), "banner printed: {stdout}");
}

#[test]
fn localhost_listen_is_resolved_and_served() {
    let mut child = demo("localhost:0").stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut endpoint = None;
    while endpoint.is_none() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Some(url) = line.strip_prefix("MCP endpoint:")
        {
            endpoint = Some(url.trim().to_string());
        }
    }
    let status = child.try_wait().unwrap();
    child.kill().ok();
    child.wait().ok();
    assert!(status.is_none(), "demo exited: {status:?}");
    let endpoint = endpoint.expect("banner with the MCP endpoint");
    let port: u16 = endpoint
        .trim_start_matches("http://localhost:")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap_or_else(|_| panic!("endpoint {endpoint}"));
    assert_ne!(port, 0, "the banner shows the bound port, not 0");
}

#[test]
fn listen_addresses_parse_or_say_what_is_expected() {
    assert_eq!(parse_listen_addr("localhost:8080").unwrap().port(), 8080);
    assert!(
        parse_listen_addr("localhost:8080")
            .unwrap()
            .ip()
            .is_loopback()
    );
    assert_eq!(
        parse_listen_addr("0.0.0.0:80").unwrap().to_string(),
        "0.0.0.0:80"
    );
    let e = parse_listen_addr("localhost").unwrap_err();
    assert!(e.contains("HOST:PORT"), "{e}");
    let e = parse_listen_addr("localhost:99999").unwrap_err();
    assert!(e.contains("HOST:PORT"), "{e}");
}
