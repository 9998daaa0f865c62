//! Servers under test as child processes: find our binary, pick a free port, wait until a URL answers,
//! read the footprint (RSS, open files, threads) of the whole process tree from /proc, and stop it.

use anyhow::{Context, Result, bail};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the `notion-mcp-remote` binary to run (default: next to this binary).
pub const SERVER_BIN_ENV: &str = "NOTION_MCP_BIN";

/// The `notion-mcp-remote` binary: `$NOTION_MCP_BIN`, else the file of that name next to the running
/// bench binary (both are built into the same target directory).
pub fn server_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(SERVER_BIN_ENV) {
        return Ok(PathBuf::from(p));
    }
    Ok(std::env::current_exe()?.with_file_name("notion-mcp-remote"))
}

/// mimalloc settings the image (`Dockerfile`) gives our server; the benches start it with the same ones,
/// unless the environment already sets them. A thread that exits (tantivy starts a new indexing thread
/// for each commit of the content index) returns the free memory it held instead of leaving it parked
/// with its abandoned heap; no cost on the request path (docs/benchmarks.md, "The allocator").
pub const IMAGE_ALLOCATOR_ENV: &[(&str, &str)] = &[("MIMALLOC_ABANDONED_PAGE_PURGE", "1")];

/// The first executable file named `name` in a directory of `$PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A free loopback port (the listener is closed before the server binds it).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Memory and handles of a process and all its descendants, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Resident set size in KiB (`VmRSS`), summed over the tree.
    pub rss_kb: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
    /// Processes in the tree.
    pub processes: u64,
    /// CPU time used so far (user + system), in clock ticks.
    pub cpu_ticks: u64,
}

/// Clock ticks per second for [`Footprint::cpu_ticks`] (`getconf CLK_TCK`; 100 if unknown).
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// CPU time (user + system, clock ticks) of one process, without its children.
pub fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat)
}

/// utime + stime from a `/proc/<pid>/stat` line (fields 14 and 15).
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A running server; killed (with its descendants) when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>` (`redis://…` for [`ServerProcess::redis`]).
    pub base: String,
    /// The loopback port it answers on.
    pub port: u16,
    /// What the process is (for messages).
    pub name: String,
}

impl ServerProcess {
    /// Spawns `cmd` (stdout discarded, stderr inherited unless set by the caller) as `name`, answering
    /// on `port`.
    pub fn spawn(name: &str, mut cmd: Command, port: u16) -> Result<Self> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name} ({cmd:?})"))?;
        Ok(Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            port,
            name: name.to_string(),
        })
    }

    /// Starts our server (`notion-mcp-remote`) in demo auth mode against `notion_base_url`, with
    /// Notion pacing and the per-caller tool-call limit out of the way, and `extra` arguments.
    pub fn ours(notion_base_url: &str, extra: &[&str]) -> Result<Self> {
        Self::ours_paced(notion_base_url, 100_000.0, 100_000, extra)
    }

    /// Like [`ServerProcess::ours`], pacing Notion requests at `rps` with bursts of `burst`.
    pub fn ours_paced(notion_base_url: &str, rps: f64, burst: u32, extra: &[&str]) -> Result<Self> {
        Self::ours_auth(notion_base_url, "demo", rps, burst, extra)
    }

    /// Like [`ServerProcess::ours_paced`], with callers authenticating as `auth_mode` (`demo`, or
    /// `notion-token`: every caller sends its own Notion token).
    pub fn ours_auth(
        notion_base_url: &str,
        auth_mode: &str,
        rps: f64,
        burst: u32,
        extra: &[&str],
    ) -> Result<Self> {
        let exe = server_binary()?;
        if !exe.exists() {
            bail!(
                "{} not found: build it first (cargo build --release -p notion-mcp-remote) or set {SERVER_BIN_ENV}",
                exe.display()
            );
        }
        let port = free_port()?;
        let mut cmd = Command::new(&exe);
        cmd.args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--notion-base-url",
                notion_base_url,
                "--auth-mode",
                auth_mode,
            ])
            .args(["--pacing-rps", &rps.to_string()])
            .args(["--pacing-burst", &burst.to_string()])
            .args(["--rate-limit-per-minute", "0"])
            .args(["--log", "warn"])
            .args(extra)
            .env_remove("RUST_LOG");
        for (key, value) in IMAGE_ALLOCATOR_ENV {
            if std::env::var_os(key).is_none() {
                cmd.env(key, value);
            }
        }
        Self::spawn("notion-mcp-remote", cmd, port)
    }

    /// A throwaway `redis-server` (the binary `exe`) on a free loopback port, keeping nothing on disk
    /// (`--save '' --appendonly no`); its [`base`](Self::base) is the `redis://` URL.
    pub fn redis(exe: &Path) -> Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(exe);
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"]);
        let mut redis = Self::spawn("redis-server", cmd, port)?;
        redis.base = format!("redis://127.0.0.1:{port}");
        Ok(redis)
    }

    /// Waits until the port accepts TCP connections, or fails after `timeout` or if the process exits.
    pub async fn wait_listening(&mut self, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("{} exited before it was ready: {status}", self.name);
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        bail!(
            "{} not listening within {timeout:?} (port {})",
            self.name,
            self.port
        )
    }

    /// The process id of the tree's root.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits until `GET {base}{path}` answers (any status below 500 when `any_status`, else 2xx), or
    /// fails after `timeout` or if the process exits.
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        path: &str,
        any_status: bool,
        timeout: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        let url = format!("{}{path}", self.base);
        while started.elapsed() < timeout {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("{} exited before it was ready: {status}", self.name);
            }
            if let Ok(r) = http.get(&url).send().await {
                let s = r.status();
                if s.is_success() || (any_status && !s.is_server_error()) {
                    return Ok(started.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        bail!("{} not ready within {timeout:?} ({url})", self.name)
    }

    /// The footprint of the process and its descendants now.
    pub fn footprint(&self) -> Result<Footprint> {
        tree_footprint(self.pid())
    }

    /// Kills the tree (SIGKILL, descendants first) and reaps the child.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut pids = descendants(child.id());
            pids.reverse();
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pids of `root` and every process below it, parents before children.
pub fn tree_pids(root: u32) -> Vec<u32> {
    let mut out = vec![root];
    out.extend(descendants(root));
    out
}

/// Every process below `root` (children, grandchildren…), parents before children.
fn descendants(root: u32) -> Vec<u32> {
    let parents = parent_map();
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == p && seen.insert(pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// `(pid, ppid)` of every process visible in /proc.
fn parent_map() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_ppid(&stat)?))
        })
        .collect()
}

/// The parent pid from a `/proc/<pid>/stat` line (the field after the parenthesised command name,
/// which may itself contain spaces and parentheses, and the state letter).
fn parse_ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sums RSS, open fds and threads over `root` and its descendants.
pub fn tree_footprint(root: u32) -> Result<Footprint> {
    let mut total = Footprint::default();
    for pid in tree_pids(root) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            if pid == root {
                bail!("process {pid} is gone");
            }
            continue; // a descendant that just exited
        };
        total.rss_kb += status_field(&status, "VmRSS:").unwrap_or(0);
        total.threads += status_field(&status, "Threads:").unwrap_or(0);
        total.fds += std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
        total.processes += 1;
        total.cpu_ticks += process_cpu_ticks(pid).unwrap_or(0);
    }
    Ok(total)
}

/// The first number of a `/proc/<pid>/status` field ("VmRSS:   1234 kB" → 1234).
fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ppid_after_odd_command_names() {
        assert_eq!(parse_ppid("42 (node) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("42 (a) b) (c) R 9 1"), Some(9));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn parses_cpu_ticks() {
        let stat = "42 (my (node)) S 1 42 42 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 11 0";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
        assert!(process_cpu_ticks(std::process::id()).is_some());
        assert!(clock_ticks_per_second() > 0);
    }

    #[test]
    fn the_allocator_settings_are_the_images() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile");
        let dockerfile = std::fs::read_to_string(path).expect("the Dockerfile");
        for (key, value) in IMAGE_ALLOCATOR_ENV {
            let line = format!("ENV {key}={value}");
            assert!(
                dockerfile.lines().any(|l| l.trim() == line),
                "the Dockerfile should have `{line}`"
            );
        }
    }

    #[test]
    fn reads_status_fields() {
        let s = "Name:\tx\nVmRSS:\t  1234 kB\nThreads:\t3\n";
        assert_eq!(status_field(s, "VmRSS:"), Some(1234));
        assert_eq!(status_field(s, "Threads:"), Some(3));
        assert_eq!(status_field(s, "VmHWM:"), None);
    }

    #[test]
    fn footprint_of_a_tree_counts_children_and_stop_kills_them() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; wait"]);
        let mut p = ServerProcess::spawn("sh", cmd, 0).expect("sh");
        let pid = p.pid();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tree_pids(pid).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pids = tree_pids(pid);
        let f = tree_footprint(pid).expect("footprint");
        p.stop();
        assert_eq!(f.processes, 3);
        assert!(f.rss_kb > 0 && f.threads >= 3 && f.fds > 0);
        let alive = |q: &u32| {
            std::fs::read_to_string(format!("/proc/{q}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while pids.iter().any(alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !pids.iter().any(alive),
            "a process of the tree survived stop()"
        );
    }
}
