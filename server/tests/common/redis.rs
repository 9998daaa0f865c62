//! A real `redis-server` as a child process: started on a free loopback port without persistence,
//! waited for with PING, killed as in a crash and restarted on the same port.
//!
//! Without `redis-server` on the PATH (or at `$REDIS_SERVER`) a test skips with a message, except
//! when `CI` is set: there a missing redis-server fails the test (`.ci/run` installs it).

use super::child::{free_port, tempdir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`; killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    binary: PathBuf,
    pub port: u16,
    /// Extra arguments (e.g. `--requirepass`), kept for restarts.
    extra: Vec<String>,
    dir: tempdir::Dir,
}

/// The `redis-server` to run: `$REDIS_SERVER`, else the first on the PATH.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl RedisServer {
    /// Starts a redis-server with `extra` arguments; `None` (after saying so) when none is installed
    /// and `CI` is not set. `test` names the skipped test in the message.
    pub async fn start_or_skip(test: &str, extra: &[&str]) -> Option<Self> {
        let Some(binary) = binary() else {
            assert!(
                !in_ci(),
                "{test}: redis-server is not installed (apt-get install redis-server; .ci/run does)"
            );
            eprintln!(
                "SKIPPED {test}: redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER)"
            );
            return None;
        };
        let mut server = RedisServer {
            child: None,
            binary,
            port: 0,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            dir: tempdir::Dir::new("redis-server"),
        };
        // A free port can be taken between picking and binding it: try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn().await {
                return Some(server);
            }
        }
        panic!("{test}: redis-server did not start:\n{}", server.log());
    }

    /// `redis://127.0.0.1:<port>` (no credentials).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: the connections drop at once, nothing is saved (as in a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was persisted).
    pub async fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "redis-server did not restart on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Spawns on `self.port` and waits up to 10 s for PONG; false when it exited (port taken).
    async fn spawn(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("redis.log"))
            .unwrap();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return false;
            }
            let port = self.port;
            if tokio::task::spawn_blocking(move || answers_ping(port))
                .await
                .unwrap()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        false
    }
}

/// Whether something on `port` answers PING with PONG, or with NOAUTH (a password is set).
fn answers_ping(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) => {
            let reply = String::from_utf8_lossy(&buf[..n]);
            reply.starts_with("+PONG") || reply.starts_with("-NOAUTH")
        }
        Err(_) => false,
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
