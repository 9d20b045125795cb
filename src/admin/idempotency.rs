//! `idempotencyKey`: a mutation retried with the same key and the same arguments returns the first
//! result instead of running again; the same key with other arguments is refused. As in Rafiki,
//! failures are not remembered (a retry of a failed mutation runs again), and keys are forgotten
//! after 24 hours. Since keys are kept that long, a key may be at most [`MAX_KEY_CHARS`] long.

use crate::clock::Instant;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rafiki's `GRAPHQL_IDEMPOTENCY_KEY_TTL_MS` default.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest key accepted, in characters: a UUID is 36; keys are kept for a day.
pub const MAX_KEY_CHARS: usize = 255;
/// Most keys remembered at once: beyond it the oldest is forgotten before its day is up, so a
/// busy day of keyed mutations cannot grow memory without bound.
pub const MAX_KEYS: usize = 100_000;

struct Remembered {
    /// SHA-256 of the arguments' fingerprint: a day of keys is kept, so 32 bytes rather than the
    /// arguments' text.
    fingerprint: [u8; 32],
    result: Arc<dyn Any + Send + Sync>,
    stored_at: Instant,
}

/// The remembered results by key, and the keys in the order they were remembered, so that the
/// expired and the oldest are dropped from the front without scanning the rest.
#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Remembered>,
    order: VecDeque<(Instant, String)>,
}

impl Entries {
    /// Forgets the keys whose day is up.
    fn expire(&mut self, now: Instant) {
        while let Some((stored_at, _)) = self.order.front() {
            if now.duration_since(*stored_at) < KEY_TTL {
                break;
            }
            if let Some((stored_at, key)) = self.order.pop_front() {
                self.forget(&key, stored_at);
            }
        }
    }

    fn forget(&mut self, key: &str, stored_at: Instant) {
        if self
            .by_key
            .get(key)
            .is_some_and(|entry| entry.stored_at == stored_at)
        {
            self.by_key.remove(key);
        }
    }

    fn get(&self, key: &str) -> Option<&Remembered> {
        self.by_key.get(key)
    }

    /// Remembers `entry` under `key` unless the key already holds one.
    fn remember(&mut self, key: &str, entry: Remembered) {
        if self.by_key.contains_key(key) {
            return;
        }
        while self.by_key.len() >= MAX_KEYS {
            let Some((stored_at, oldest)) = self.order.pop_front() else {
                break;
            };
            self.forget(&oldest, stored_at);
        }
        self.order.push_back((entry.stored_at, key.to_owned()));
        self.by_key.insert(key.to_owned(), entry);
    }
}

/// The remembered results, by key.
#[derive(Default)]
pub struct IdempotencyStore {
    entries: Mutex<Entries>,
    /// Held by synchronous operations with a key, so that a retry racing its original waits and
    /// replays instead of running twice.
    serialize: Mutex<()>,
}

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyStore").finish_non_exhaustive()
    }
}

/// Why a mutation with a key was refused without running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The same key was used with different arguments.
    #[error("Incoming arguments are different than the original request for idempotencyKey: {0}")]
    KeyReused(String),
    #[error("idempotencyKey is too long: {length} characters, at most {MAX_KEY_CHARS}")]
    KeyTooLong { length: usize },
}

fn digest(fingerprint: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(fingerprint.as_bytes()).into()
}

fn check_length(key: &str) -> Result<(), IdempotencyError> {
    let length = key.chars().count();
    if length > MAX_KEY_CHARS {
        return Err(IdempotencyError::KeyTooLong { length });
    }
    Ok(())
}

impl IdempotencyStore {
    /// Runs `operation` unless `key` already holds a result for the same `fingerprint` (the
    /// mutation's name and arguments); a key longer than [`MAX_KEY_CHARS`] is refused unrun. The store is held while the operation runs, so two
    /// concurrent requests with one key run it once: the second replays the first's result.
    pub fn run<T: Clone + Send + Sync + 'static>(
        &self,
        key: Option<&str>,
        fingerprint: String,
        succeeded: impl Fn(&T) -> bool,
        operation: impl FnOnce() -> T,
    ) -> Result<T, IdempotencyError> {
        let Some(key) = key else {
            return Ok(operation());
        };
        check_length(key)?;
        // Held while the operation runs: concurrent requests with this store wait their turn.
        let _serialized = self
            .serialize
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(remembered) = self.lookup::<T>(key, &fingerprint)? {
            return Ok(remembered);
        }
        let result = operation();
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if succeeded(&result) {
            entries.remember(
                key,
                Remembered {
                    fingerprint: digest(&fingerprint),
                    result: Arc::new(result.clone()),
                    stored_at: now,
                },
            );
        }
        Ok(result)
    }
}

impl IdempotencyStore {
    /// [`IdempotencyStore::run`] for operations that wait on the network. The store is not held
    /// across the wait, so two concurrent first requests with one key may both run; the first to
    /// finish is remembered.
    pub async fn run_async<T, F>(
        &self,
        key: Option<&str>,
        fingerprint: String,
        succeeded: impl Fn(&T) -> bool,
        operation: F,
    ) -> Result<T, IdempotencyError>
    where
        T: Clone + Send + Sync + 'static,
        F: std::future::Future<Output = T>,
    {
        let Some(key) = key else {
            return Ok(operation.await);
        };
        check_length(key)?;
        if let Some(remembered) = self.lookup::<T>(key, &fingerprint)? {
            return Ok(remembered);
        }
        let result = operation.await;
        if succeeded(&result) {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            entries.remember(
                key,
                Remembered {
                    fingerprint: digest(&fingerprint),
                    result: Arc::new(result.clone()),
                    stored_at: Instant::now(),
                },
            );
        }
        Ok(result)
    }

    fn lookup<T: Clone + 'static>(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<T>, IdempotencyError> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.expire(Instant::now());
        match entries.get(key) {
            None => Ok(None),
            Some(entry) if entry.fingerprint != digest(fingerprint) => {
                Err(IdempotencyError::KeyReused(key.to_owned()))
            }
            Some(entry) => entry
                .result
                .downcast_ref::<T>()
                .cloned()
                .map(Some)
                .ok_or_else(|| IdempotencyError::KeyReused(key.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn the_oldest_keys_are_forgotten_beyond_the_bound() {
        let store = IdempotencyStore::default();
        let remember =
            |key: &str, value: u32| store.run(Some(key), "f".to_owned(), |_: &u32| true, || value);
        for n in 0..=MAX_KEYS {
            assert_eq!(remember(&format!("k{n}"), 1), Ok(1));
        }
        // k0 was forgotten (it runs again); k1 is still remembered (it replays).
        assert_eq!(remember("k0", 2), Ok(2));
        assert_eq!(remember("k2", 2), Ok(1));
        let entries = store.entries.lock().unwrap();
        assert_eq!(entries.by_key.len(), MAX_KEYS);
        assert_eq!(entries.order.len(), MAX_KEYS);
    }

    #[test]
    fn expired_keys_leave_from_the_front() {
        let mut entries = Entries::default();
        let start = Instant::now();
        let remembered = |at| Remembered {
            fingerprint: digest(""),
            result: Arc::new(()),
            stored_at: at,
        };
        entries.remember("old", remembered(start));
        entries.remember("new", remembered(start + Duration::from_secs(10)));
        entries.expire(start + KEY_TTL + Duration::from_secs(1));
        assert!(entries.get("old").is_none());
        assert!(entries.get("new").is_some());
    }

    #[test]
    fn replays_successes_and_refuses_other_arguments() {
        let store = IdempotencyStore::default();
        let runs = Cell::new(0);
        let run = |fingerprint: &str, ok: bool| {
            store.run(
                Some("k"),
                fingerprint.to_owned(),
                |r: &(u32, bool)| r.1,
                || {
                    runs.set(runs.get() + 1);
                    (runs.get(), ok)
                },
            )
        };
        assert_eq!(run("a", true), Ok((1, true)));
        assert_eq!(run("a", true), Ok((1, true)));
        assert_eq!(runs.get(), 1);
        assert!(
            run("b", true)
                .unwrap_err()
                .to_string()
                .contains("idempotencyKey: k")
        );
        assert_eq!(runs.get(), 1);
    }

    #[test]
    fn failures_are_not_remembered_and_no_key_always_runs() {
        let store = IdempotencyStore::default();
        let runs = Cell::new(0);
        let run = |key: Option<&str>, ok: bool| {
            store.run(
                key,
                "f".to_owned(),
                |r: &bool| *r,
                || {
                    runs.set(runs.get() + 1);
                    ok
                },
            )
        };
        assert_eq!(run(Some("k"), false), Ok(false));
        assert_eq!(run(Some("k"), true), Ok(true));
        assert_eq!(run(None, true), Ok(true));
        assert_eq!(run(None, true), Ok(true));
        assert_eq!(runs.get(), 4);
    }

    #[test]
    fn overlong_keys_are_refused_without_running() {
        let store = IdempotencyStore::default();
        let runs = Cell::new(0);
        let run = |key: &str| {
            store.run(
                Some(key),
                "f".to_owned(),
                |_: &()| true,
                || runs.set(runs.get() + 1),
            )
        };
        assert_eq!(run(&"k".repeat(MAX_KEY_CHARS)), Ok(()));
        // Characters, not bytes: 255 two-byte characters are accepted.
        assert_eq!(run(&"é".repeat(MAX_KEY_CHARS)), Ok(()));
        assert_eq!(
            run(&"k".repeat(MAX_KEY_CHARS + 1)),
            Err(IdempotencyError::KeyTooLong {
                length: MAX_KEY_CHARS + 1
            })
        );
        assert_eq!(runs.get(), 2);
    }
}
