//! Checking `X-Notion-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body, keyed by a
//! subscription's verification token, compared in constant time. Several tokens may be configured
//! (while a subscription is re-created); any one of them may have signed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a delivery's signature was refused (a metrics label and the answer's message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no webhook verification token is configured (set NOTION_WEBHOOK_VERIFICATION_TOKEN)")]
    NoToken,
    #[error("the X-Notion-Signature header is missing")]
    Missing,
    #[error("the X-Notion-Signature header is not 'sha256=' followed by 64 hex digits")]
    Malformed,
    #[error("the signature does not match the body under any configured verification token")]
    Mismatch,
}

impl SignatureError {
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::NoToken => "no_token",
            SignatureError::Missing => "missing",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

/// Check `header` against `body` under each token.
pub fn verify(tokens: &[String], body: &[u8], header: Option<&[u8]>) -> Result<(), SignatureError> {
    if tokens.is_empty() {
        return Err(SignatureError::NoToken);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let signature = decode_hex(hex).ok_or(SignatureError::Malformed)?;
    let matched = tokens.iter().any(|token| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&signature).is_ok()
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// 64 hex digits (either case) → 32 bytes.
fn decode_hex(hex: &[u8]) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let value = digit(pair[0])? * 16 + digit(pair[1])?;
        out[i] = u8::try_from(value).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Notion's documented sample: this token and body give this signature.
    const TOKEN: &str = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    const BODY: &str =
        r#"{"verification_token":"secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}"#;
    const SIG: &str = "sha256=461e8cbcba8a75c3edd866f0e71280f5a85cbf21eff040ebd10fe266df38a735";

    fn tokens(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn notions_sample_verifies() {
        assert_eq!(
            verify(&tokens(&[TOKEN]), BODY.as_bytes(), Some(SIG.as_bytes())),
            Ok(())
        );
        let upper = format!("sha256={}", SIG[7..].to_uppercase());
        assert_eq!(
            verify(&tokens(&[TOKEN]), BODY.as_bytes(), Some(upper.as_bytes())),
            Ok(())
        );
        // The second of two tokens (a subscription being re-created).
        assert_eq!(
            verify(
                &tokens(&["secret_old", TOKEN]),
                BODY.as_bytes(),
                Some(SIG.as_bytes())
            ),
            Ok(())
        );
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        let t = tokens(&[TOKEN]);
        let body = BODY.as_bytes();
        assert_eq!(
            verify(&[], body, Some(SIG.as_bytes())),
            Err(SignatureError::NoToken)
        );
        assert_eq!(verify(&t, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(&t, body, Some(&SIG.as_bytes()[7..])),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&t, body, Some(b"sha256=zz")),
            Err(SignatureError::Malformed)
        );
        let short = &SIG[..SIG.len() - 2];
        assert_eq!(
            verify(&t, body, Some(short.as_bytes())),
            Err(SignatureError::Malformed)
        );
        let nonhex = format!("{}zz", &SIG[..SIG.len() - 2]);
        assert_eq!(
            verify(&t, body, Some(nonhex.as_bytes())),
            Err(SignatureError::Malformed)
        );
        let tampered = BODY.replace("tMrl", "tMrL");
        assert_eq!(
            verify(&t, tampered.as_bytes(), Some(SIG.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        // Re-serialised with spaces: different bytes, refused.
        let spaced = BODY.replace("\":\"", "\": \"");
        assert_eq!(
            verify(&t, spaced.as_bytes(), Some(SIG.as_bytes())),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&tokens(&["secret_other"]), body, Some(SIG.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }
}
