//! Identifier helpers: parsing Notion ids (with or without dashes), stable ids derived from
//! names (for fixtures and generated test data), short property ids and random tokens.

use uuid::Uuid;

/// Parses a Notion id: 32 hex digits with or without dashes (braces/urn forms also accepted).
pub fn parse_id(raw: &str) -> Option<Uuid> {
    let raw = raw.trim();
    if raw.len() < 32 {
        return None;
    }
    Uuid::parse_str(raw).ok()
}

/// The canonical (dashed, lowercase) form of an id.
pub fn fmt_id(id: &Uuid) -> String {
    id.hyphenated().to_string()
}

/// The compact (no dashes) form used in notion.so URLs.
pub fn compact_id(id: &Uuid) -> String {
    id.simple().to_string()
}

fn fnv1a64(seed: u64, data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// splitmix64 finaliser: spreads similar inputs over the whole output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic version-4-shaped UUID derived from `name`. Fixtures and the test builder use
/// it so tests can compute ids of generated objects: `stable_id("page:Doc 3")`.
pub fn stable_id(name: &str) -> Uuid {
    let a = mix(fnv1a64(0x1234_5678, name.as_bytes()));
    let b = mix(fnv1a64(0x9abc_def0_1357_2468, name.as_bytes()));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Resolves a fixture id: a UUID (with or without dashes) is taken as is; any other string is a
/// name turned into `stable_id(name)`.
pub fn fixture_id(raw: &str) -> Uuid {
    parse_id(raw).unwrap_or_else(|| stable_id(raw))
}

const PROP_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PROP_ESCAPES: [&str; 6] = ["%3A", "%3B", "%3C", "%3E", "%3F", "%40"];

/// A short property id like Notion's (`%3CLrR`, `Zx9q`): some carry URL-escaped characters so
/// clients are exercised on passing them through unchanged.
pub fn property_id(scope: &str, name: &str, attempt: u32) -> String {
    let hash = fnv1a64(u64::from(attempt), format!("{scope}/{name}").as_bytes());
    let mut out = String::new();
    if hash.is_multiple_of(2) {
        out.push_str(PROP_ESCAPES[((hash >> 8) % 6) as usize]);
    }
    let mut h = hash >> 16;
    for _ in 0..3 {
        out.push(PROP_ALPHABET[(h % 62) as usize] as char);
        h /= 62;
    }
    out
}

/// Percent-decodes a path segment (lossy) so encoded and raw property ids compare equal.
pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let a = parse_id("59833787-2cf9-4fdf-8782-e53db20768a5");
        let b = parse_id("598337872cf94fdf8782e53db20768a5");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(parse_id("nope"), None);
    }

    #[test]
    fn decodes_property_ids() {
        assert_eq!(percent_decode("%3CLrR"), "<LrR");
        assert_eq!(percent_decode("title"), "title");
        assert_eq!(percent_decode("ab%"), "ab%");
    }

    #[test]
    fn stable_ids_are_stable() {
        assert_eq!(stable_id("x"), stable_id("x"));
        assert_ne!(stable_id("x"), stable_id("y"));
    }
}
