//! Priority between tool calls and background work (the content crawler) within one workspace's
//! budget: tool-call requests waiting for the budget are counted per workspace, and background work
//! waits until none is waiting before it asks for a turn itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often background work looks again while tool calls wait.
const RECHECK: Duration = Duration::from_millis(20);

/// Tool-call requests waiting, per workspace.
#[derive(Default)]
pub(super) struct Foreground {
    waiting: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

/// Counts one waiting request while it lives.
pub(super) struct Waiting {
    waiting: Arc<Mutex<HashMap<Arc<str>, usize>>>,
    workspace: Arc<str>,
}

impl Foreground {
    pub(super) fn waiting(&self, workspace: &Arc<str>) -> Waiting {
        let mut map = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(workspace.clone()).or_default() += 1;
        Waiting {
            waiting: self.waiting.clone(),
            workspace: workspace.clone(),
        }
    }

    fn busy(&self, workspace: &str) -> bool {
        let map = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        map.get(workspace).is_some_and(|n| *n > 0)
    }

    pub(super) async fn until_idle(&self, workspace: &str) {
        while self.busy(workspace) {
            tokio::time::sleep(RECHECK).await;
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut map = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.workspace) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.workspace);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_waits_while_a_tool_call_waits() {
        let fg = Foreground::default();
        let ws: Arc<str> = Arc::from("w");
        fg.until_idle("w").await; // nobody waiting: at once
        let waiting = fg.waiting(&ws);
        assert!(fg.busy("w") && !fg.busy("other"));
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(waiting);
        });
        let started = std::time::Instant::now();
        fg.until_idle("w").await;
        assert!(started.elapsed() >= Duration::from_millis(40));
        release.await.ok();
        assert!(!fg.busy("w"));
    }
}
