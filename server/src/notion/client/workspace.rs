//! The workspace of a connection whose grant did not name it (a plain integration token): learned
//! once from Notion (`GET /v1/users/me` → `bot.workspace_id`, else `bot.workspace_name`) and
//! remembered, so the connection's requests draw on the workspace's budget as well as on its own.

use super::{Credentials, NotionAuth, NotionClient, Pacing};
use crate::notion::pacer::WorkspaceBudget;
use crate::notion::request::NotionRequest;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Connections remembered at most, and how long an unused one is kept.
const MAX_CONNECTIONS: u64 = 100_000;
const IDLE: Duration = Duration::from_secs(3600);

/// What is known so far: per pacing key, the workspace (`None`: Notion did not say, or refused).
pub(super) struct Workspaces {
    known: moka::sync::Cache<String, Arc<OnceCell<Option<Arc<str>>>>>,
    /// Questions in flight (see [`WorkspaceBudget::KnownWhileAsking`]).
    asking: AtomicUsize,
}

impl Default for Workspaces {
    fn default() -> Self {
        Workspaces {
            known: moka::sync::Cache::builder()
                .max_capacity(MAX_CONNECTIONS)
                .time_to_idle(IDLE)
                .build(),
            asking: AtomicUsize::new(0),
        }
    }
}

/// Learning failed for now (rate limit, 5xx, network): pace as [`WorkspaceBudget::Unknown`] and
/// ask again with the next request.
struct NotYet;

/// Counts a question in flight while it lives.
struct Asking<'a>(&'a AtomicUsize);

impl<'a> Asking<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Asking(count)
    }
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl NotionClient {
    /// The workspace budget a request of `auth` draws on, when workspaces are paced: the workspace
    /// its grant named, else the one Notion told for its token (asked once; concurrent first
    /// requests of a connection share the question). The question itself goes out before its
    /// workspace is known ([`WorkspaceBudget::Unknown`]) and is charged to the workspace once known;
    /// while questions are in flight every request also draws on their budget
    /// ([`WorkspaceBudget::KnownWhileAsking`]).
    pub(super) async fn workspace_of(&self, auth: &NotionAuth) -> WorkspaceBudget {
        if !self.inner.pacer.paces_workspaces() {
            return WorkspaceBudget::None;
        }
        let workspaces = &self.inner.workspaces;
        let own = match &auth.workspace {
            Some(ws) => ws.clone(),
            None => {
                let cell = workspaces
                    .known
                    .get_with(auth.pacing_key.clone(), Default::default);
                match cell.get_or_try_init(|| self.learn_workspace(auth)).await {
                    Ok(Some(ws)) => ws.clone(),
                    Ok(None) => return WorkspaceBudget::None,
                    Err(NotYet) => return WorkspaceBudget::Unknown,
                }
            }
        };
        if workspaces.asking.load(Ordering::SeqCst) > 0 {
            WorkspaceBudget::KnownWhileAsking(own)
        } else {
            WorkspaceBudget::Known(own)
        }
    }

    /// The workspace of `auth` whether or not workspaces are paced: the one its grant named, else the
    /// one Notion told for its token (asked once per connection and remembered, as for pacing).
    pub async fn workspace_id(&self, auth: &NotionAuth) -> Option<Arc<str>> {
        if let Some(ws) = &auth.workspace {
            return Some(ws.clone());
        }
        let cell = self
            .inner
            .workspaces
            .known
            .get_with(auth.pacing_key.clone(), Default::default);
        cell.get_or_try_init(|| self.learn_workspace(auth))
            .await
            .ok()
            .and_then(Clone::clone)
    }

    /// The workspace of `auth` if known now, without asking Notion.
    pub fn known_workspace(&self, auth: &NotionAuth) -> Option<Arc<str>> {
        if let Some(ws) = &auth.workspace {
            return Some(ws.clone());
        }
        self.inner
            .workspaces
            .known
            .get(&auth.pacing_key)
            .and_then(|cell| cell.get().cloned().flatten())
    }

    async fn learn_workspace(&self, auth: &NotionAuth) -> Result<Option<Arc<str>>, NotYet> {
        let _asking = Asking::start(&self.inner.workspaces.asking);
        let token = auth.expose_token();
        let pacing = Pacing {
            key: &auth.pacing_key,
            workspace: &WorkspaceBudget::Unknown,
            background: auth.is_background(),
        };
        let req = NotionRequest::get("GET /v1/users/me", "/v1/users/me");
        match self
            .execute(Credentials::Bearer(&token), pacing, auth.version, &req)
            .await
        {
            Ok(me) => {
                let ws = workspace_in(&me);
                match &ws {
                    Some(ws) => {
                        self.inner.pacer.charge_workspace(ws).await;
                    }
                    None => tracing::debug!(
                        "Notion named no workspace for this token; paced per connection"
                    ),
                }
                Ok(ws)
            }
            // A refused token is refused for every request: nothing to pace by the workspace.
            Err(e)
                if e.status()
                    .is_some_and(|s| (400..500).contains(&s) && s != 429) =>
            {
                Ok(None)
            }
            Err(e) => {
                tracing::debug!(code = e.code(), "workspace not known yet");
                Err(NotYet)
            }
        }
    }
}

/// `bot.workspace_id` of a `/v1/users/me` answer, else its `bot.workspace_name` (an older answer
/// without the id: two workspaces of one name then share a budget, which errs on the slow side).
fn workspace_in(me: &Value) -> Option<Arc<str>> {
    let field = |name: &str| {
        me.get("bot")?
            .get(name)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    field("workspace_id")
        .map(Arc::from)
        .or_else(|| field("workspace_name").map(|n| Arc::from(format!("name:{n}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_bots_workspace() {
        let me = json!({"object": "user", "type": "bot", "bot": {"workspace_id": "w-1", "workspace_name": "Acme"}});
        assert_eq!(workspace_in(&me).as_deref(), Some("w-1"));
        assert_eq!(workspace_in(&json!({"type": "bot", "bot": {}})), None);
        assert_eq!(workspace_in(&json!({"bot": {"workspace_id": " "}})), None);
        let old = json!({"bot": {"workspace_name": "Acme"}});
        assert_eq!(workspace_in(&old).as_deref(), Some("name:Acme"));
    }
}
