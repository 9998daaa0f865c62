//! The client's cached path: reads are answered from the [`ReadCache`] when it holds a trusted answer
//! the caller has proven access to, identical reads in flight are shared, and writes invalidate
//! what they touched before the caller sees their answer.
//!
//! Identical reads in flight are shared by one identity, and by every identity that has proven
//! access to what they read. Pages, data sources and databases that a list answer of an identity's
//! own token shows (query rows, search results) count as proven for it.
//!
//! Tool output is the same whether an answer came from the cache or from Notion; only the cache
//! metrics and a debug event (`notion cache`, exported to traces as an event of the tool call's span)
//! tell them apart. A cache hit sends nothing to Notion, so it has no Notion span.

use super::answer::Answer;
use super::client::{NotionAuth, NotionClient};
use super::error::NotionError;
use super::request::NotionRequest;
use crate::cache::{self, Class, Read, ReadCache, Source};
use serde_json::Value;
use std::sync::Arc;

/// Told about the answers Notion gave to reads a tool call made (the content index learns pages
/// from them without asking Notion for anything more). An answer served from the cache, or shared
/// from another call's read in flight, is not told again. Must not block: queue the work.
pub trait ReadObserver: Send + Sync {
    /// Whether answers of this endpoint are of interest.
    fn wants(&self, endpoint: &'static str) -> bool;
    /// `answer` of a read of `path` by a connection of `workspace`. What the observer decodes from it
    /// is best kept as a view of it ([`Answer::view`]): the tool that made the read decodes it next.
    fn observed(&self, workspace: &Arc<str>, endpoint: &'static str, path: &str, answer: &Answer);
}

impl NotionClient {
    /// Send a request through the cache: see the module comment.
    pub async fn send(&self, auth: &NotionAuth, req: NotionRequest) -> Result<Value, NotionError> {
        self.send_shared(auth, req).await.map(Answer::into_json)
    }

    /// As [`Self::send`], but a cached answer is handed out as it is kept, without a copy: callers
    /// that only decode it (see [`NotionClient::call`]) read it in place.
    pub async fn send_shared(
        &self,
        auth: &NotionAuth,
        req: NotionRequest,
    ) -> Result<Arc<Answer>, NotionError> {
        let cache = self.cache().clone();
        match cache::classify(&req, auth.version, auth.identity()) {
            Class::Pass if req.endpoint == super::async_tasks::POLL_ENDPOINT => {
                // A finished async write changes what reads show now: invalidate as its write would.
                let answer = self.send_to_notion(auth, req).await?;
                let plan = cache::writes::task_plan(&answer);
                cache.apply(&plan, Source::Write);
                Ok(Answer::shared(answer))
            }
            Class::Pass if req.endpoint == "POST /v1/search" => {
                // Search is never cached, but what it found this identity may read.
                let since = cache.begin();
                let answer = self.send_to_notion(auth, req).await?;
                cache.prove_listed(auth.identity(), &answer, since);
                Ok(Answer::shared(answer))
            }
            Class::Pass => {
                cache::derived::uncached();
                self.send_to_notion(auth, req).await.map(Answer::shared)
            }
            Class::Write => {
                let endpoint = req.endpoint;
                let plan_req = req.clone();
                let result = self.send_to_notion(auth, req).await;
                let plan = cache::writes::plan(&plan_req, result.as_ref());
                if !plan.is_empty() {
                    tracing::debug!(endpoint, changes = plan.len(), "write invalidates cache");
                }
                cache.apply(&plan, Source::Write);
                result.map(Answer::shared)
            }
            Class::Read(read) => {
                let observed = self
                    .read_observer()
                    .filter(|o| !auth.is_background() && o.wants(req.endpoint))
                    .map(|o| (o.clone(), req.endpoint, req.path.clone()));
                let (answer, fresh) = self.read_through(&cache, auth, req, read).await?;
                // An answer kept in the cache was shown to the observer when it came from Notion.
                if let Some((observer, endpoint, path)) = observed.filter(|_| fresh)
                    && let Some(workspace) = self.known_workspace(auth)
                {
                    observer.observed(&workspace, endpoint, &path, &answer);
                }
                Ok(answer)
            }
        }
    }

    /// Invalidate again what an async write accepted by `req` may still change (when its task is
    /// handed back unfinished, reads made while it ran may show the old content).
    pub fn invalidate_pending_write(&self, req: &NotionRequest) {
        let plan = cache::writes::pending_plan(req);
        self.cache().apply(&plan, Source::Write);
    }

    /// The answer to `req`, and whether this call itself had it from Notion (`false` for an answer
    /// from the cache or from another caller's read in flight).
    async fn read_through(
        &self,
        cache: &Arc<ReadCache>,
        auth: &NotionAuth,
        req: NotionRequest,
        read: Read,
    ) -> Result<(Arc<Answer>, bool), NotionError> {
        let endpoint = req.endpoint;
        let identity = auth.identity();
        let access = cache.access_of(read.access);
        let object = access.object();
        // A cached answer this identity may not see yet: reading it again is its proof.
        let mut proving = false;
        if let Some(entry) = cache.entry(&read.key) {
            match object {
                None => return Ok((hit(cache, endpoint, "hit", &read, entry, object), false)),
                Some(id) if cache.proven(identity, id) => {
                    return Ok((hit(cache, endpoint, "hit", &read, entry, object), false));
                }
                // Reading it again costs what proving access costs: fall through to Notion.
                Some(_) if read.proves_itself => proving = true,
                Some(_) => {
                    if let Some(proof) = access.proof_request() {
                        self.prove_access(cache, auth, proof).await?;
                        // The proof may have found the object changed: serve only a still-current answer.
                        if let Some(entry) = cache.entry(&read.key) {
                            let answer = hit(cache, endpoint, "proof", &read, entry, object);
                            return Ok((answer, false));
                        }
                    }
                }
            }
        }
        if cache.is_trusted() {
            // An identity that has proven access may share another identity's read in flight (the
            // answer is the one the cache would hand it); otherwise only its own.
            let proven = !proving && object.is_some_and(|id| cache.proven(identity, id));
            let flight_key: Arc<str> = if proven {
                read.key.clone()
            } else {
                Arc::from(format!("{identity}\n{}", read.key))
            };
            let retry = proven.then(|| (req.clone(), read.clone()));
            let key = read.key.clone();
            let (client, auth2, cache2) = (self.clone(), auth.clone(), cache.clone());
            let (mut answer, joined) = cache
                .flights
                .run(flight_key, move || async move {
                    let since = cache2.begin();
                    let answer = client.send_to_notion(&auth2, req).await.map(Answer::shared);
                    settle(&cache2, &auth2, &read, since, answer.as_ref());
                    answer
                })
                .await;
            let mut fresh = !joined;
            // Another identity's failure (its rate limit, its refusal) is not this one's: ask itself.
            if let (true, Err(_), Some((req, read))) = (joined, &answer, retry) {
                let since = cache.begin();
                answer = self.send_to_notion(auth, req).await.map(Answer::shared);
                settle(cache, auth, &read, since, answer.as_ref());
                fresh = true;
            }
            let result = match (joined, proving) {
                (true, _) => "coalesced",
                (false, true) => "proof",
                (false, false) => "miss",
            };
            looked_up(cache, endpoint, result);
            if let Ok(value) = &answer {
                // Note the entry this answer was kept as (none if it was not kept).
                let kept = cache.entry(&key).filter(|e| Arc::ptr_eq(&e.value, value));
                cache::derived::used(&key, kept, object);
            }
            answer.map(|a| (a, fresh))
        } else {
            looked_up(cache, endpoint, "bypass");
            cache::derived::uncached();
            let answer = self.send_to_notion(auth, req).await?;
            Ok((Answer::shared(answer), true))
        }
    }

    /// Read `object` with the caller's own token, remembering the proof and keeping the answer.
    async fn prove_access(
        &self,
        cache: &Arc<ReadCache>,
        auth: &NotionAuth,
        proof: NotionRequest,
    ) -> Result<(), NotionError> {
        let Class::Read(read) = cache::classify(&proof, auth.version, auth.identity()) else {
            return Ok(());
        };
        let since = cache.begin();
        let answer = self.send_to_notion(auth, proof).await.map(Answer::shared);
        settle(cache, auth, &read, since, answer.as_ref());
        answer.map(drop)
    }
}

/// After Notion answered a read: remember the proof and keep the answer, or forget a proof Notion
/// no longer honours.
fn settle(
    cache: &ReadCache,
    auth: &NotionAuth,
    read: &Read,
    since: u64,
    answer: Result<&Arc<Answer>, &NotionError>,
) {
    let identity = auth.identity();
    match answer {
        Ok(value) => {
            if let Some(id) = cache.access_of(read.access).object() {
                cache.prove(identity, id, since);
            }
            cache.prove_listed(identity, value, since);
            cache.store(read.key.clone(), value.clone(), &read.tags, since);
        }
        Err(e) if matches!(e.status(), Some(403 | 404)) => {
            if let Some(id) = cache.access_of(read.access).object() {
                cache.forget_proof(identity, id);
            }
        }
        Err(_) => {}
    }
}

fn hit(
    cache: &ReadCache,
    endpoint: &'static str,
    result: &str,
    read: &Read,
    entry: Arc<cache::Entry>,
    object: Option<uuid::Uuid>,
) -> Arc<Answer> {
    looked_up(cache, endpoint, result);
    let value = entry.value.clone();
    cache::derived::used(&read.key, Some(entry), object);
    value
}

/// Count a cache lookup and say how it went (`hit`, `proof`, `miss`, `coalesced`, `bypass`).
fn looked_up(cache: &ReadCache, endpoint: &'static str, result: &str) {
    cache.metrics().lookup(endpoint, result);
    tracing::event!(
        name: "notion.cache",
        tracing::Level::DEBUG,
        notion.endpoint = endpoint,
        notion.cache.result = result,
        "notion cache"
    );
}
