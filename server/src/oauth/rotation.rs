//! The refresh-token rotation rule, as a pure function of a grant, so the `/token` endpoint and the
//! store's concurrency tests apply exactly the same rule.
//!
//! - Presenting the grant's current refresh token (or one of its honoured-retry alternatives) rotates:
//!   a new access and refresh token are issued and every token of the old family is retired.
//! - Presenting the refresh token whose exchange issued the current family again, within the reuse
//!   grace and before the current refresh token was itself used, is a retry whose answer was lost (a dropped
//!   connection, a crashed replica): it is honoured with a new pair that is an alternative to the
//!   current one — at most [`RETRIES_HONOURED`] times per rotation. The first alternative used wins.
//! - Any other retired token within the grace is refused without harm (a concurrent request won); after
//!   the grace it is a replay, and the caller revokes the grant.
//!
//! No token value is ever issued twice: every answer carries freshly minted tokens.

use super::opaque_tokens;
use crate::store::records::{Grant, IssuedToken, RotatedToken};

/// Retired refresh tokens remembered per grant.
pub const ROTATED_KEPT: usize = 50;
/// Access tokens kept per grant (older ones stop working early).
pub const ACCESS_KEPT: usize = 5;
/// Lost-answer retries honoured per rotation.
pub const RETRIES_HONOURED: usize = 2;

/// The freshly minted pair an exchange would hand out (hashes only).
pub struct Fresh {
    pub access: IssuedToken,
    pub refresh: IssuedToken,
}

/// What presenting a refresh token did to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The token was current: the family rotated and `Fresh` is the new current pair.
    Rotated,
    /// A retry of the previous rotation within the grace: `Fresh` was added as an alternative.
    Retried,
    /// A retired token within the grace that cannot be honoured: refused, the grant is kept.
    Race,
    /// A retired token after the grace: the caller revokes the grant.
    Replay,
    /// Not a token of this grant (or expired).
    Unknown,
}

impl Outcome {
    /// Whether the grant changed and must be written.
    pub fn changed(self) -> bool {
        matches!(self, Outcome::Rotated | Outcome::Retried)
    }
}

fn trim_front<T>(v: &mut Vec<T>, keep: usize) {
    if v.len() > keep {
        let extra = v.len() - keep;
        v.drain(..extra);
    }
}

fn add_access(g: &mut Grant, fresh: &Fresh, now: i64) {
    g.access.retain(|t| t.expires_at > now);
    g.access.push(fresh.access.clone());
    trim_front(&mut g.access, ACCESS_KEPT);
    g.last_used_at = now;
    g.expires_at = fresh.refresh.expires_at;
}

/// Apply the rotation rule for the refresh token hashed `presented` at `now`.
pub fn apply(g: &mut Grant, presented: &str, fresh: &Fresh, now: i64, grace: i64) -> Outcome {
    let live = |t: &IssuedToken| t.expires_at > now;
    let in_family = g
        .refresh
        .iter()
        .chain(&g.refresh_retries)
        .any(|t| live(t) && opaque_tokens::same(&t.hash, presented));
    if in_family {
        let retired = g
            .refresh
            .take()
            .into_iter()
            .chain(g.refresh_retries.drain(..));
        let retired: Vec<RotatedToken> = retired
            .map(|t| RotatedToken {
                hash: t.hash,
                rotated_at: now,
            })
            .collect();
        g.rotated.extend(retired);
        trim_front(&mut g.rotated, ROTATED_KEPT);
        g.refresh = Some(fresh.refresh.clone());
        g.refresh_parent = Some(presented.to_string());
        add_access(g, fresh, now);
        return Outcome::Rotated;
    }
    let rotated_at = g
        .rotated
        .iter()
        .rev()
        .find(|r| opaque_tokens::same(&r.hash, presented))
        .map(|r| r.rotated_at);
    match rotated_at {
        Some(at) if now - at < grace => {
            let is_parent = g
                .refresh_parent
                .as_deref()
                .is_some_and(|p| opaque_tokens::same(p, presented));
            if is_parent
                && g.refresh.as_ref().is_some_and(live)
                && g.refresh_retries.len() < RETRIES_HONOURED
            {
                g.refresh_retries.push(fresh.refresh.clone());
                add_access(g, fresh, now);
                Outcome::Retried
            } else {
                Outcome::Race
            }
        }
        Some(_) => Outcome::Replay,
        None => Outcome::Unknown,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::records::NotionCredentials;

    const IDLE: i64 = 1000;

    /// A grant whose current refresh token hashes to `first_refresh`.
    pub(crate) fn grant(first_refresh: &str) -> Grant {
        Grant {
            id: "g".into(),
            client_id: "c".into(),
            client_name: None,
            audience: "http://localhost/mcp".into(),
            scope: "notion".into(),
            notion: NotionCredentials {
                access_token: "ntn".into(),
                refresh_token: None,
                bot_id: "b".into(),
                workspace_id: "w".into(),
                workspace_name: None,
                workspace_icon: None,
                user_id: None,
                user_name: None,
                user_email: None,
                duplicated_template_id: None,
                obtained_at: 0,
            },
            access: Vec::new(),
            refresh: Some(token(first_refresh, 0)),
            refresh_retries: Vec::new(),
            refresh_parent: None,
            rotated: Vec::new(),
            created_at: 0,
            last_used_at: 0,
            expires_at: IDLE,
        }
    }

    pub(crate) fn token(hash: &str, now: i64) -> IssuedToken {
        IssuedToken {
            hash: hash.into(),
            issued_at: now,
            expires_at: now + IDLE,
        }
    }

    fn fresh(n: u32, now: i64) -> Fresh {
        Fresh {
            access: token(&format!("a{n}"), now),
            refresh: token(&format!("r{n}"), now),
        }
    }

    #[test]
    fn the_current_token_rotates_once() {
        let mut g = grant("r0");
        assert_eq!(apply(&mut g, "r0", &fresh(1, 10), 10, 60), Outcome::Rotated);
        assert_eq!(g.refresh.as_ref().map(|t| t.hash.as_str()), Some("r1"));
        assert_eq!(g.refresh_parent.as_deref(), Some("r0"));
        assert_eq!(apply(&mut g, "r1", &fresh(2, 11), 11, 60), Outcome::Rotated);
        assert_eq!(
            apply(&mut g, "nope", &fresh(3, 12), 12, 60),
            Outcome::Unknown
        );
    }

    #[test]
    fn a_lost_answer_is_retried_within_the_grace_a_bounded_number_of_times() {
        let mut g = grant("r0");
        apply(&mut g, "r0", &fresh(1, 10), 10, 60);
        assert_eq!(apply(&mut g, "r0", &fresh(2, 20), 20, 60), Outcome::Retried);
        assert_eq!(apply(&mut g, "r0", &fresh(3, 21), 21, 60), Outcome::Retried);
        assert_eq!(apply(&mut g, "r0", &fresh(4, 22), 22, 60), Outcome::Race);
        assert_eq!(g.refresh_retries.len(), RETRIES_HONOURED);
        // Any alternative works once; using it retires the others.
        assert_eq!(apply(&mut g, "r2", &fresh(5, 23), 23, 60), Outcome::Rotated);
        assert!(g.refresh_retries.is_empty());
        for old in ["r0", "r1", "r3"] {
            assert_eq!(apply(&mut g, old, &fresh(6, 24), 24, 60), Outcome::Race);
        }
        assert_eq!(
            apply(&mut g, "r1", &fresh(7, 200), 200, 60),
            Outcome::Replay
        );
    }

    #[test]
    fn a_retry_after_the_family_was_used_or_after_the_grace_is_not_honoured() {
        let mut g = grant("r0");
        apply(&mut g, "r0", &fresh(1, 10), 10, 60);
        apply(&mut g, "r1", &fresh(2, 11), 11, 60);
        assert_eq!(apply(&mut g, "r0", &fresh(3, 12), 12, 60), Outcome::Race);
        let mut g = grant("r0");
        apply(&mut g, "r0", &fresh(1, 10), 10, 60);
        assert_eq!(apply(&mut g, "r0", &fresh(2, 70), 70, 60), Outcome::Replay);
        let mut g = grant("r0");
        apply(&mut g, "r0", &fresh(1, 10), 10, 0);
        assert_eq!(apply(&mut g, "r0", &fresh(2, 10), 10, 0), Outcome::Replay);
    }

    #[test]
    fn expired_tokens_do_not_rotate() {
        let mut g = grant("r0");
        assert_eq!(
            apply(&mut g, "r0", &fresh(1, IDLE + 1), IDLE + 1, 60),
            Outcome::Unknown
        );
    }
}
