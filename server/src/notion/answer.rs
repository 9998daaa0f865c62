//! A Notion answer as the read cache and single-flight share it between callers: the JSON, and the
//! values computed from it (the typed value a reader decoded, a tool's rendering of it), kept with it
//! so callers that share one answer (waiters of one read in flight, hits of one cache entry) compute
//! each of them once between them.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::{Any, TypeId};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// One answer of Notion's (see the module comment). Reads as the JSON it holds.
#[derive(Debug)]
pub struct Answer {
    json: Value,
    /// What was computed from `json`, one value per type (a handful at most).
    views: Mutex<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>,
}

impl Answer {
    pub fn shared(json: Value) -> Arc<Answer> {
        Arc::new(Answer {
            json,
            views: Mutex::new(Vec::new()),
        })
    }

    /// The JSON, without a copy when nobody else holds the answer.
    pub fn into_json(answer: Arc<Answer>) -> Value {
        match Arc::try_unwrap(answer) {
            Ok(a) => a.json,
            Err(shared) => shared.json.clone(),
        }
    }

    /// The answer as a `T`: taken as it is when nobody else holds it (the `T` view if one was kept,
    /// else the JSON decoded in place), else decoded once (as a [`Self::view`]) and cloned for each
    /// caller (a clone costs a fraction of decoding JSON again).
    pub fn decode<T>(answer: Arc<Answer>) -> Result<T, serde_json::Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        match Arc::try_unwrap(answer) {
            Ok(mut a) => match a.take_view::<T>() {
                Some(t) => Ok(Arc::unwrap_or_clone(t)),
                None => serde_json::from_value(a.json),
            },
            Err(shared) => shared
                .view(|json| T::deserialize(json))
                .map(|t| T::clone(&t)),
        }
    }

    /// The value `make` computes from the JSON, computed once per type `V` for everyone who holds
    /// this answer: `make` must depend on nothing but the JSON. A failure is not kept (the next
    /// caller tries again). Two callers asking at once may both compute; the first value kept wins.
    pub fn view<V, E>(&self, make: impl FnOnce(&Value) -> Result<V, E>) -> Result<Arc<V>, E>
    where
        V: Send + Sync + 'static,
    {
        if let Some(v) = self.kept::<V>() {
            return Ok(v);
        }
        let made = Arc::new(make(&self.json)?);
        let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = find::<V>(&views)
            && let Ok(v) = views[i].1.clone().downcast::<V>()
        {
            return Ok(v);
        }
        views.push((TypeId::of::<V>(), made.clone()));
        Ok(made)
    }

    fn kept<V: Send + Sync + 'static>(&self) -> Option<Arc<V>> {
        let views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        find::<V>(&views).and_then(|i| views[i].1.clone().downcast::<V>().ok())
    }

    /// The kept `V`, out of an answer nobody else holds.
    fn take_view<V: Send + Sync + 'static>(&mut self) -> Option<Arc<V>> {
        let views = self.views.get_mut().unwrap_or_else(|e| e.into_inner());
        find::<V>(views).and_then(|i| views.swap_remove(i).1.downcast::<V>().ok())
    }
}

/// Where the view of type `V` is kept.
fn find<V: 'static>(views: &[(TypeId, Arc<dyn Any + Send + Sync>)]) -> Option<usize> {
    views.iter().position(|(t, _)| *t == TypeId::of::<V>())
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
        // Read as another type too: each type is kept.
        assert_eq!(Answer::decode::<String>(a.clone()).unwrap(), "x");
        assert_eq!(Answer::decode::<Counted>(a.clone()).unwrap().0, "x");
        assert_eq!(DECODED.load(Ordering::SeqCst), 1);
        // The last holder takes the kept value; a sole holder of a new answer decodes its JSON.
        assert_eq!(Answer::decode::<Counted>(a).unwrap().0, "x");
        assert_eq!(DECODED.load(Ordering::SeqCst), 1);
        assert_eq!(
            Answer::decode::<Counted>(Answer::shared(Value::from("y")))
                .unwrap()
                .0,
            "y"
        );
        assert_eq!(DECODED.load(Ordering::SeqCst), 2);
        assert_eq!(**Answer::shared(Value::from(1)), Value::from(1));
        assert!(Answer::decode::<Counted>(Answer::shared(Value::from(1))).is_err());
    }

    #[test]
    fn a_view_is_computed_once_and_a_failure_is_not_kept() {
        struct Len(usize);
        let a = Answer::shared(Value::from("abc"));
        let made = AtomicUsize::new(0);
        let len = |json: &Value| {
            made.fetch_add(1, Ordering::SeqCst);
            json.as_str().map(|s| Len(s.len())).ok_or("not a string")
        };
        assert_eq!(a.view(len).unwrap().0, 3);
        assert_eq!(a.clone().view(len).unwrap().0, 3);
        assert_eq!(made.load(Ordering::SeqCst), 1);
        let failing = Answer::shared(Value::from(1));
        assert_eq!(failing.view(len).err(), Some("not a string"));
        assert_eq!(failing.view(len).err(), Some("not a string"));
        assert_eq!(made.load(Ordering::SeqCst), 3);
    }
}
