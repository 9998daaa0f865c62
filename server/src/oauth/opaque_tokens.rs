//! The tokens and secrets this authorization server mints, and the checks on what clients send back.
//!
//! Access and refresh tokens are opaque: `nmr_at_<grant id>.<secret>` / `nmr_rt_<grant id>.<secret>`.
//! The grant id lets us find the grant with one keyed read; only a SHA-256 hash of the whole token is
//! stored, so a leaked store does not yield usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ACCESS_PREFIX: &str = "nmr_at_";
pub const REFRESH_PREFIX: &str = "nmr_rt_";

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// 16 random bytes, URL-safe base64 (22 characters): record ids.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// URL-safe base64 of SHA-256: how tokens, codes and states are stored and looked up.
pub fn hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Constant-time string equality.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Which of our tokens a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Mint a token of `kind` for `grant_id`.
pub fn mint(kind: TokenKind, grant_id: &str) -> String {
    let prefix = match kind {
        TokenKind::Access => ACCESS_PREFIX,
        TokenKind::Refresh => REFRESH_PREFIX,
    };
    format!("{prefix}{grant_id}.{}", random_secret())
}

/// The kind and grant id of one of our tokens, or `None` if it is not one.
pub fn parse(token: &str) -> Option<(TokenKind, &str)> {
    let (kind, rest) = if let Some(r) = token.strip_prefix(ACCESS_PREFIX) {
        (TokenKind::Access, r)
    } else if let Some(r) = token.strip_prefix(REFRESH_PREFIX) {
        (TokenKind::Refresh, r)
    } else {
        return None;
    };
    let (grant, secret) = rest.split_once('.')?;
    let ok = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(grant, 16..=64) && ok(secret, 32..=64)).then_some((kind, grant))
}

/// RFC 7636: `code_verifier` is 43-128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 `code_challenge` is the URL-safe base64 of a SHA-256: 43 characters.
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` matches an S256 `challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) && same(&hash(verifier), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_back_to_their_grant() {
        let t = mint(TokenKind::Refresh, "grant-id_0123456789");
        assert_eq!(parse(&t), Some((TokenKind::Refresh, "grant-id_0123456789")));
        assert_eq!(parse("ntn_123"), None);
        assert_eq!(parse("nmr_at_short.x"), None);
        assert_eq!(parse("nmr_at_grant-id_0123456789"), None);
    }

    #[test]
    fn pkce_s256_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }
}
