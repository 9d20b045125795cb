//! `idempotencyKey`: a mutation retried with the same key and the same arguments returns the first
//! result instead of running again; the same key with other arguments is refused. As in Rafiki,
//! failures are not remembered (a retry of a failed mutation runs again), and keys are forgotten
//! after 24 hours. Since keys are kept that long, a key may be at most [`MAX_KEY_CHARS`] long.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rafiki's `GRAPHQL_IDEMPOTENCY_KEY_TTL_MS` default.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest key accepted, in characters: a UUID is 36; keys are kept for a day.
pub const MAX_KEY_CHARS: usize = 255;

struct Remembered {
    fingerprint: String,
    result: Arc<dyn Any + Send + Sync>,
    stored_at: Instant,
}

/// The remembered results, by key.
#[derive(Default)]
pub struct IdempotencyStore {
    entries: Mutex<HashMap<String, Remembered>>,
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
            entries.insert(
                key.to_owned(),
                Remembered {
                    fingerprint,
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
            entries.entry(key.to_owned()).or_insert_with(|| Remembered {
                fingerprint,
                result: Arc::new(result.clone()),
                stored_at: Instant::now(),
            });
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
        let now = Instant::now();
        entries.retain(|_, entry| now.duration_since(entry.stored_at) < KEY_TTL);
        match entries.get(key) {
            None => Ok(None),
            Some(entry) if entry.fingerprint != fingerprint => {
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
