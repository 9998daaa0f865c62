//! The `requestState` of a pending confirmation (MCP 2026-07-28 multi round-trip requests): sealed
//! with rmcp's [`RequestStateCodec`] (HMAC-SHA256) and bound to the tool, a digest of its exact
//! arguments and the caller, with a short expiry. The client echoes it back; a state that was
//! altered, was made for another call or caller, or has expired opens to an error.
//!
//! The key is derived from the grant store's sealing keys when there are some (every replica
//! sharing them accepts the others' states, and rotating them rotates it); otherwise it is random
//! per process, and a state from another process is simply treated as absent (the user is asked
//! again).

use crate::store::KeyRing;
use rmcp::model::{JsonObject, RequestStateCodec, RequestStateError, SealOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// What the confirmation keys are derived for (never the sealing keys themselves).
const PURPOSE: &str = "notion-mcp-remote/confirm-request-state/v1";

/// The call a state is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The tool.
    #[serde(rename = "t")]
    tool: String,
    /// SHA-256 of the arguments, keys sorted (hex).
    #[serde(rename = "a")]
    args: String,
    /// SHA-256 of the caller's identity (hex): the identity itself stays out of the readable state.
    #[serde(rename = "c")]
    caller: String,
}

impl Binding {
    pub fn new(tool: &str, args: Option<&JsonObject>, caller: &str) -> Self {
        let mut canonical = String::new();
        if let Some(a) = args {
            write_canonical(&Value::Object(a.clone()), &mut canonical);
        }
        Binding {
            tool: tool.to_string(),
            args: hex(&Sha256::digest(canonical.as_bytes())),
            caller: hex(&Sha256::digest(caller.as_bytes())),
        }
    }
}

/// JSON with object keys sorted at every level, so the same arguments sent in another key order
/// bind the same.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why an echoed state does not confirm this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    /// Sealed under a key this process does not hold (another replica's per-process key): not
    /// ours to judge, so the user is asked again.
    Foreign,
    /// Not a state this server sealed, or altered.
    Altered,
    /// Past its expiry.
    Expired,
    /// Made for another tool or other arguments.
    OtherCall,
    /// Made for another caller.
    OtherCaller,
}

/// Seals and opens confirmation states.
pub struct StateSealer {
    codec: RequestStateCodec,
    ttl: Duration,
    /// Whether the key comes from keys the replicas share.
    shared: bool,
}

impl StateSealer {
    /// A sealer whose keys derive from `ring` (the grant store's sealing keys).
    pub fn from_ring(ring: &KeyRing, ttl: Duration) -> Result<Self, RequestStateError> {
        let codec = RequestStateCodec::new_with_keyring(
            ring.active_id().to_string(),
            ring.derive(PURPOSE)
                .into_iter()
                .map(|(id, key)| (id, key.to_vec())),
        )?;
        Ok(StateSealer {
            codec,
            ttl,
            shared: true,
        })
    }

    /// A sealer with a random key of this process's own, under a random key id.
    pub fn random(ttl: Duration) -> Self {
        let kid = format!("process-{}", hex(&rand::random::<[u8; 8]>()));
        let key = rand::random::<[u8; 32]>().to_vec();
        // A fresh 32-byte key and a short ASCII id are always accepted; the single-key codec is
        // the fallback that cannot fail.
        let codec = RequestStateCodec::new_with_keyring(kid.clone(), [(kid, key.clone())])
            .or_else(|_| RequestStateCodec::try_new(key.clone()))
            .unwrap_or_else(|_| RequestStateCodec::new_unchecked(key));
        StateSealer {
            codec,
            ttl,
            shared: false,
        }
    }

    /// How long a state stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether other replicas sharing the store keys accept this process's states.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The state for a confirmation of `binding`.
    pub fn seal(&self, binding: &Binding) -> String {
        let payload = serde_json::to_vec(binding).unwrap_or_default();
        self.codec
            .seal_with(&payload, &SealOptions::new().ttl(self.ttl))
    }

    /// Check an echoed state against the call it comes back with.
    pub fn open(&self, state: &str, binding: &Binding) -> Result<(), StateProblem> {
        let opened: Binding = self.codec.open_json(state).map_err(|e| match e {
            RequestStateError::Expired => StateProblem::Expired,
            RequestStateError::UnknownKeyId => StateProblem::Foreign,
            _ => StateProblem::Altered,
        })?;
        if opened.caller != binding.caller {
            Err(StateProblem::OtherCaller)
        } else if opened != *binding {
            Err(StateProblem::OtherCall)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn binding_ignores_key_order_but_not_values() {
        let a = Binding::new(
            "trash_page",
            Some(&args(json!({"id":"x","restore":false}))),
            "u",
        );
        let b = Binding::new(
            "trash_page",
            Some(&args(json!({"restore":false,"id":"x"}))),
            "u",
        );
        assert_eq!(a, b);
        let c = Binding::new(
            "trash_page",
            Some(&args(json!({"id":"y","restore":false}))),
            "u",
        );
        assert_ne!(a, c);
        assert_ne!(
            a,
            Binding::new(
                "delete_block",
                Some(&args(json!({"id":"x","restore":false}))),
                "u"
            )
        );
    }

    #[test]
    fn states_open_only_for_their_call_caller_and_time() {
        let sealer = StateSealer::random(Duration::from_secs(60));
        let call = Binding::new("delete_block", Some(&args(json!({"id":"b1"}))), "token:abc");
        let state = sealer.seal(&call);
        assert_eq!(sealer.open(&state, &call), Ok(()));
        let other_args = Binding::new("delete_block", Some(&args(json!({"id":"b2"}))), "token:abc");
        assert_eq!(
            sealer.open(&state, &other_args),
            Err(StateProblem::OtherCall)
        );
        let other_caller =
            Binding::new("delete_block", Some(&args(json!({"id":"b1"}))), "token:def");
        assert_eq!(
            sealer.open(&state, &other_caller),
            Err(StateProblem::OtherCaller)
        );
        let mut altered = state.clone();
        altered.pop();
        altered.push(if state.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealer.open(&altered, &call), Err(StateProblem::Altered));
        assert_eq!(sealer.open("anything", &call), Err(StateProblem::Altered));
        // Another process's key: not judged, asked again.
        let elsewhere = StateSealer::random(Duration::from_secs(60)).seal(&call);
        assert_eq!(sealer.open(&elsewhere, &call), Err(StateProblem::Foreign));
        let expiring = StateSealer::random(Duration::from_millis(1));
        let state = expiring.seal(&call);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(expiring.open(&state, &call), Err(StateProblem::Expired));
    }

    #[test]
    fn replicas_sharing_store_keys_accept_each_others_states() {
        let key = |b: u8| [b; 32];
        let ring = || KeyRing::new(vec![("k1".into(), key(7))], None).unwrap();
        let a = StateSealer::from_ring(&ring(), Duration::from_secs(60)).unwrap();
        let b = StateSealer::from_ring(&ring(), Duration::from_secs(60)).unwrap();
        assert!(a.shared());
        let call = Binding::new("trash_page", Some(&args(json!({"id":"p"}))), "grant:g");
        assert_eq!(b.open(&a.seal(&call), &call), Ok(()));
        let other = KeyRing::new(vec![("k1".into(), key(8))], None).unwrap();
        let c = StateSealer::from_ring(&other, Duration::from_secs(60)).unwrap();
        assert_eq!(c.open(&a.seal(&call), &call), Err(StateProblem::Altered));
    }
}
