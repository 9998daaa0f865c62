//! The real `notion-mcp-remote` binary as a child process: start it with arguments, wait until it is
//! ready, read its memory and open files, stop it gently or with SIGKILL, and read what it logged.
//!
//! Used by the tests that need a whole process (kill -9, two processes sharing a store, memory after
//! load) rather than the in-process [`Harness`](super::Harness).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server process; killed when dropped.
pub struct ChildServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Everything the process wrote to stderr (its log), kept in a file so it survives a kill.
    pub log_path: PathBuf,
    _log_dir: tempdir::Dir,
}

/// Picks a free loopback port (the listener is closed before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ChildServer {
    /// Starts `notion-mcp-remote serve --listen 127.0.0.1:<port> <args…>` with `envs` and waits for
    /// `/readyz`. Panics with the process's log if it exits or is not ready within 30 s.
    pub async fn start(args: &[String], envs: &[(&str, String)]) -> Self {
        Self::start_on(free_port(), args, envs).await
    }

    /// As [`start`](Self::start), on a given port (to restart on the same address).
    pub async fn start_on(port: u16, args: &[String], envs: &[(&str, String)]) -> Self {
        let log_dir = tempdir::Dir::new("child-server");
        let log_path = log_dir.path().join("stderr.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"));
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting notion-mcp-remote");
        let mut server = ChildServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log_path,
            _log_dir: log_dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        notion_mcp_remote::notion::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status} before ready:\n{}", self.log());
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server not ready within 30 s:\n{}", self.log());
    }

    /// `<base>/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Resident set size in KiB (Linux `/proc`). Panics when it cannot be read.
    pub fn rss_kb(&self) -> u64 {
        proc_status_field(self.pid(), "VmRSS:")
    }

    /// Number of OS threads (Linux `/proc`). Panics when it cannot be read.
    pub fn threads(&self) -> u64 {
        proc_status_field(self.pid(), "Threads:")
    }

    /// Number of open file descriptors (Linux `/proc`). Panics when they cannot be listed: an
    /// unknown count must fail the check that reads it, not pass it as 0.
    pub fn open_fds(&self) -> usize {
        let dir = format!("/proc/{}/fd", self.pid());
        match std::fs::read_dir(&dir) {
            Ok(entries) => entries.count(),
            Err(e) => panic!("cannot count the server's open fds: reading {dir}: {e}"),
        }
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill9(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log()
    }

    /// SIGTERM, then waits up to 30 s for a clean exit; returns the exit status's success and the log.
    pub fn stop(mut self) -> (bool, String) {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.success(), self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (false, self.log())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first number of a `/proc/<pid>/status` field ("VmRSS:   1234 kB" → 1234); panics, saying what
/// was missing, when the file or the field cannot be read.
fn proc_status_field(pid: u32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the server's {field} from {path}: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number after {field} in {path}:\n{status}"))
}

/// A directory under the system temp dir, removed when dropped.
pub mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> Self {
            let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
