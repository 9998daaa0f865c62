//! A Notion answer as the read cache and single-flight share it between callers: the JSON, and the
//! typed value the first typed reader decoded from it, so callers that share one answer (waiters of
//! one read in flight, hits of one cache entry) decode it once between them.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::Any;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// One answer of Notion's (see the module comment). Reads as the JSON it holds.
#[derive(Debug)]
pub struct Answer {
    json: Value,
    /// Decoded once, as the type the first typed reader asked for.
    typed: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl Answer {
    pub fn shared(json: Value) -> Arc<Answer> {
        Arc::new(Answer {
            json,
            typed: OnceLock::new(),
        })
    }

    /// The JSON, without a copy when nobody else holds the answer.
    pub fn into_json(answer: Arc<Answer>) -> Value {
        match Arc::try_unwrap(answer) {
            Ok(a) => a.json,
            Err(shared) => shared.json.clone(),
        }
    }

    /// The answer as a `T`: decoded in place when nobody else holds it, else decoded once and
    /// cloned for each caller (a clone costs a fraction of decoding JSON again).
    pub fn decode<T>(answer: Arc<Answer>) -> Result<T, serde_json::Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let answer = match Arc::try_unwrap(answer) {
            Ok(a) => return serde_json::from_value(a.json),
            Err(shared) => shared,
        };
        if let Some(typed) = answer.typed.get() {
            if let Some(t) = typed.downcast_ref::<T>() {
                return Ok(t.clone());
            }
            // Read as another type before: decode this one each time.
            return T::deserialize(&answer.json);
        }
        let t = T::deserialize(&answer.json)?;
        let _ = answer.typed.set(Arc::new(t.clone()));
        Ok(t)
    }
}

impl Deref for Answer {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.json
    }
}

impl PartialEq for Answer {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static DECODED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug, Clone, PartialEq)]
    struct Counted(String);

    impl<'de> Deserialize<'de> for Counted {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            DECODED.fetch_add(1, Ordering::SeqCst);
            String::deserialize(d).map(Counted)
        }
    }

    #[test]
    fn sharers_decode_once_and_a_sole_holder_in_place() {
        let a = Answer::shared(Value::from("x"));
        let waiters: Vec<_> = (0..3).map(|_| a.clone()).collect();
        for w in waiters {
            assert_eq!(Answer::decode::<Counted>(w).unwrap(), Counted("x".into()));
        }
        assert_eq!(DECODED.load(Ordering::SeqCst), 1);
        // Read as another type: decoded each time, the first type's value stays.
        assert_eq!(Answer::decode::<String>(a.clone()).unwrap(), "x");
        assert_eq!(Answer::decode::<Counted>(a.clone()).unwrap().0, "x");
        assert_eq!(DECODED.load(Ordering::SeqCst), 1);
        // The last holder decodes the JSON itself.
        assert_eq!(Answer::decode::<Counted>(a).unwrap().0, "x");
        assert_eq!(DECODED.load(Ordering::SeqCst), 2);
        assert_eq!(**Answer::shared(Value::from(1)), Value::from(1));
        assert!(Answer::decode::<Counted>(Answer::shared(Value::from(1))).is_err());
    }
}
