//! Cookies of the consent flow: sealed (encrypted and authenticated with the store's key ring), with a
//! `__Host-` prefix, `Secure`, `HttpOnly` and `SameSite=Lax` when the server is reached over https.
//! Over plain http (local development) browsers refuse `Secure` cookies, so the prefix and flag are
//! dropped there.

use crate::store::KeyRing;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Cookie naming and flags for this deployment.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    /// The full cookie name for a base name.
    pub fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// A `Set-Cookie` value.
    pub fn set(&self, base: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}",
            self.name(base)
        ))
        .ok()
    }

    /// The value of a cookie the browser sent.
    pub fn get(&self, headers: &HeaderMap, base: &str) -> Option<String> {
        let name = self.name(base);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim().to_string())
    }
}

/// Seal a value for a cookie or form field: URL-safe base64 of the AEAD output, bound to `purpose`.
pub fn seal_value<T: Serialize>(keys: &KeyRing, purpose: &str, value: &T) -> String {
    let plain = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(keys.seal(purpose.as_bytes(), &plain))
}

/// Open a value sealed by [`seal_value`] for the same purpose; `None` if forged, damaged or sealed
/// for something else.
pub fn open_value<T: DeserializeOwned>(keys: &KeyRing, purpose: &str, sealed: &str) -> Option<T> {
    let raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
    let plain = keys.open(purpose.as_bytes(), &raw).ok()?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_are_bound_to_their_purpose() {
        let keys = KeyRing::random();
        let s = seal_value(&keys, "consent-request", &("a", 1));
        assert_eq!(
            open_value::<(String, i32)>(&keys, "consent-request", &s),
            Some(("a".into(), 1))
        );
        assert_eq!(open_value::<(String, i32)>(&keys, "user", &s), None);
        assert_eq!(
            open_value::<(String, i32)>(&keys, "consent-request", "AAAA"),
            None
        );
    }

    #[test]
    fn host_prefix_only_over_https() {
        let https = CookiePolicy { secure: true };
        let v = https.set("nmr-csrf", "x", 600).expect("header");
        assert_eq!(
            v.to_str().expect("ascii"),
            "__Host-nmr-csrf=x; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-nmr-csrf=tok"),
        );
        assert_eq!(https.get(&h, "nmr-csrf"), Some("tok".into()));
        assert_eq!(CookiePolicy { secure: false }.get(&h, "nmr-csrf"), None);
    }
}
