//! Sealing records with XChaCha20-Poly1305 under a key ring.
//!
//! Sealed layout: `NMR1` ‖ key-id length (1 byte) ‖ key id ‖ 24-byte random nonce ‖ ciphertext+tag.
//! The newest (active) key seals; any key in the ring opens, so keys rotate without downtime: add the
//! new key, make it active, and old records keep opening with the old one. Keys come from a directory
//! (one file per key id — how a Kubernetes Secret is mounted) or from `id:base64` pairs. Key material
//! never appears in `Debug` output.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

const MAGIC: &[u8; 4] = b"NMR1";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Why a key ring could not be built or a record not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the record is not in the sealed format")]
    Malformed,
    #[error(
        "the record was sealed with key '{0}', which is not in the key ring (add it to the keys, or restore the previous key)"
    )]
    UnknownKey(String),
    #[error(
        "the record does not open with key '{0}': wrong key material for that id, or the record was tampered with"
    )]
    WrongKey(String),
    #[error("invalid key id '{0}': use 1-64 characters of A-Z a-z 0-9 . _ -")]
    BadKeyId(String),
    #[error("key '{id}' is not 32 bytes (raw, base64 or hex): {detail}")]
    BadKey { id: String, detail: String },
    #[error("no encryption keys configured")]
    NoKeys,
    #[error("active key '{0}' is not among the configured keys ({1})")]
    ActiveMissing(String, String),
    #[error("several keys are configured ({0}); name the one that seals new records")]
    ActiveAmbiguous(String),
    #[error("reading keys from {path}: {detail}")]
    Io { path: String, detail: String },
}

/// A set of named 32-byte keys, one of which seals.
pub struct KeyRing {
    active: String,
    ciphers: BTreeMap<String, XChaCha20Poly1305>,
    /// The raw keys, for [`KeyRing::derive`].
    material: BTreeMap<String, [u8; KEY_LEN]>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("ids", &self.ids())
            .finish()
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Decode key material given as 32 raw bytes, base64 (standard or URL-safe) or 64 hex digits.
pub fn decode_key(id: &str, raw: &[u8]) -> Result<[u8; KEY_LEN], SealError> {
    if raw.len() == KEY_LEN {
        let mut k = [0u8; KEY_LEN];
        k.copy_from_slice(raw);
        return Ok(k);
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| SealError::BadKey {
            id: id.into(),
            detail: format!("{} bytes of binary data", raw.len()),
        })?
        .trim();
    let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .ok()
    };
    match decoded {
        Some(k) if k.len() == KEY_LEN => {
            let mut out = [0u8; KEY_LEN];
            out.copy_from_slice(&k);
            Ok(out)
        }
        Some(k) => Err(SealError::BadKey {
            id: id.into(),
            detail: format!("decodes to {} bytes", k.len()),
        }),
        None => Err(SealError::BadKey {
            id: id.into(),
            detail: "neither base64 nor hex".into(),
        }),
    }
}

/// 32 fresh random bytes, base64-encoded: the format `keys generate` prints and the file store writes.
pub fn generate_key_text() -> String {
    let key = XChaCha20Poly1305::generate_key(&mut OsRng);
    STANDARD.encode(key)
}

impl KeyRing {
    /// Build a ring from `(id, key)` pairs; `active` names the sealing key (optional with one key).
    pub fn new(
        keys: Vec<(String, [u8; KEY_LEN])>,
        active: Option<&str>,
    ) -> Result<Self, SealError> {
        if keys.is_empty() {
            return Err(SealError::NoKeys);
        }
        let mut ciphers = BTreeMap::new();
        let mut material = BTreeMap::new();
        for (id, key) in keys {
            if !valid_id(&id) {
                return Err(SealError::BadKeyId(id));
            }
            ciphers.insert(id.clone(), XChaCha20Poly1305::new(&key.into()));
            material.insert(id, key);
        }
        let ids = ciphers.keys().cloned().collect::<Vec<_>>().join(", ");
        let active = match active.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) if ciphers.contains_key(a) => a.to_string(),
            Some(a) => return Err(SealError::ActiveMissing(a.to_string(), ids)),
            None if ciphers.len() == 1 => ids.clone(),
            None => return Err(SealError::ActiveAmbiguous(ids)),
        };
        Ok(KeyRing {
            active,
            ciphers,
            material,
        })
    }

    /// A ring with one random key (memory stores, tests).
    pub fn random() -> Self {
        let key: [u8; KEY_LEN] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
        KeyRing {
            active: "ephemeral".into(),
            ciphers: BTreeMap::from([("ephemeral".into(), XChaCha20Poly1305::new(&key.into()))]),
            material: BTreeMap::from([("ephemeral".into(), key)]),
        }
    }

    /// Keys from `id:base64` pairs separated by commas or whitespace.
    pub fn from_pairs(pairs: &str, active: Option<&str>) -> Result<Self, SealError> {
        let mut keys = Vec::new();
        for pair in pairs
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (id, material) = pair
                .split_once(':')
                .ok_or_else(|| SealError::BadKeyId(pair.chars().take(16).collect()))?;
            keys.push((id.to_string(), decode_key(id, material.as_bytes())?));
        }
        KeyRing::new(keys, active)
    }

    /// Keys from a directory: every regular file whose name does not start with `.` is a key named
    /// after the file (symlinks are followed, as in a mounted Secret).
    pub fn from_dir(dir: &Path, active: Option<&str>) -> Result<Self, SealError> {
        let io = |e: std::io::Error| SealError::Io {
            path: dir.display().to_string(),
            detail: e.to_string(),
        };
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            let raw = std::fs::read(&path).map_err(|e| SealError::Io {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
            keys.push((name.clone(), decode_key(&name, &raw)?));
        }
        KeyRing::new(keys, active)
    }

    /// The id of the key that seals.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Every key id in the ring.
    pub fn ids(&self) -> Vec<String> {
        self.ciphers.keys().cloned().collect()
    }

    /// Keys for another use, derived from every key of the ring (HMAC-SHA256 of `purpose` under it)
    /// and named like it: replicas that share the ring derive the same keys, and rotating the ring
    /// rotates them. The sealing keys themselves never leave the ring.
    pub fn derive(&self, purpose: &str) -> Vec<(String, [u8; KEY_LEN])> {
        use hmac::{Hmac, Mac};
        self.material
            .iter()
            .filter_map(|(id, key)| {
                // HMAC takes keys of any length: this never skips a key.
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).ok()?;
                mac.update(purpose.as_bytes());
                Some((id.clone(), mac.finalize().into_bytes().into()))
            })
            .collect()
    }

    /// Seal `plain`, binding it to `aad`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let cipher = &self.ciphers[&self.active];
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ct = cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            .unwrap_or_default();
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(MAGIC.len() + 1 + id.len() + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The key id a sealed record names, if it is in the sealed format.
    pub fn key_id_of(sealed: &[u8]) -> Option<&str> {
        let rest = sealed.strip_prefix(MAGIC)?;
        let (&len, rest) = rest.split_first()?;
        std::str::from_utf8(rest.get(..len as usize)?).ok()
    }

    /// Open a sealed record bound to `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let id = KeyRing::key_id_of(sealed).ok_or(SealError::Malformed)?;
        let body = &sealed[MAGIC.len() + 1 + id.len()..];
        if body.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let cipher = self
            .ciphers
            .get(id)
            .ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
        let (nonce, ct) = body.split_at(NONCE_LEN);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| SealError::WrongKey(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> [u8; 32] {
        [b; 32]
    }

    #[test]
    fn seal_open_roundtrip_and_aad_binding() {
        let ring = KeyRing::new(vec![("k1".into(), key(1))], None).expect("ring");
        let sealed = ring.seal(b"grant/a", b"secret");
        assert_eq!(KeyRing::key_id_of(&sealed), Some("k1"));
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(ring.open(b"grant/a", &sealed).expect("opens"), b"secret");
        assert!(matches!(
            ring.open(b"grant/b", &sealed),
            Err(SealError::WrongKey(_))
        ));
    }

    #[test]
    fn derived_keys_follow_the_ring_and_the_purpose() {
        let a = KeyRing::new(
            vec![("k1".into(), key(1)), ("k2".into(), key(2))],
            Some("k2"),
        )
        .expect("ring");
        let same = KeyRing::new(
            vec![("k1".into(), key(1)), ("k2".into(), key(2))],
            Some("k1"),
        )
        .expect("ring");
        let derived = a.derive("purpose");
        assert_eq!(
            derived,
            same.derive("purpose"),
            "replicas sharing keys agree"
        );
        assert_eq!(
            derived
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
            ["k1", "k2"]
        );
        assert_ne!(derived[0].1, derived[1].1);
        assert_ne!(derived, a.derive("other purpose"));
        assert!(derived.iter().all(|(_, k)| *k != key(1) && *k != key(2)));
        assert_ne!(KeyRing::random().derive("p"), KeyRing::random().derive("p"));
    }

    #[test]
    fn rotation_new_key_seals_old_key_opens() {
        let old = KeyRing::new(vec![("k1".into(), key(1))], None).expect("ring");
        let sealed_old = old.seal(b"x", b"old");
        let both = KeyRing::new(
            vec![("k1".into(), key(1)), ("k2".into(), key(2))],
            Some("k2"),
        )
        .expect("ring");
        assert_eq!(both.open(b"x", &sealed_old).expect("old opens"), b"old");
        let sealed_new = both.seal(b"x", b"new");
        assert_eq!(KeyRing::key_id_of(&sealed_new), Some("k2"));
        assert!(matches!(
            old.open(b"x", &sealed_new),
            Err(SealError::UnknownKey(id)) if id == "k2"
        ));
    }

    #[test]
    fn wrong_material_for_the_same_id_is_named() {
        let a = KeyRing::new(vec![("k1".into(), key(1))], None).expect("ring");
        let b = KeyRing::new(vec![("k1".into(), key(9))], None).expect("ring");
        let sealed = a.seal(b"x", b"v");
        assert!(matches!(b.open(b"x", &sealed), Err(SealError::WrongKey(id)) if id == "k1"));
        assert!(matches!(
            b.open(b"x", b"garbage"),
            Err(SealError::Malformed)
        ));
    }

    #[test]
    fn key_formats_and_configuration_errors() {
        let hex = "01".repeat(32);
        assert_eq!(decode_key("k", hex.as_bytes()).expect("hex"), key(1));
        let b64 = STANDARD.encode(key(2));
        assert_eq!(
            decode_key("k", format!("{b64}\n").as_bytes()).expect("b64"),
            key(2)
        );
        assert_eq!(decode_key("k", &key(3)).expect("raw"), key(3));
        assert!(matches!(
            decode_key("k", b"short"),
            Err(SealError::BadKey { .. })
        ));
        let ring = KeyRing::from_pairs(&format!("a:{b64}, b:{hex}"), Some("b")).expect("pairs");
        assert_eq!(ring.active_id(), "b");
        assert!(matches!(
            KeyRing::from_pairs(&format!("a:{b64},b:{hex}"), None),
            Err(SealError::ActiveAmbiguous(_))
        ));
        assert!(matches!(
            KeyRing::from_pairs(&format!("a:{b64}"), Some("z")),
            Err(SealError::ActiveMissing(..))
        ));
        assert!(matches!(KeyRing::new(vec![], None), Err(SealError::NoKeys)));
        assert!(!format!("{ring:?}").contains(&b64));
    }

    #[test]
    fn keys_from_a_mounted_secret_directory() {
        let dir = std::env::temp_dir().join(format!("nmr-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("..data")).expect("mkdir");
        std::fs::write(dir.join("k1"), key(1)).expect("write");
        std::fs::write(dir.join("k2"), STANDARD.encode(key(2))).expect("write");
        std::fs::write(dir.join(".hidden"), "x").expect("write");
        let ring = KeyRing::from_dir(&dir, Some("k2")).expect("ring");
        assert_eq!(ring.ids(), vec!["k1".to_string(), "k2".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
