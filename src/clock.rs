//! Time as the connector reads it. Monotonic time is tokio's [`Instant`] (virtual when a
//! simulation pauses tokio's clock, so timeouts and expiries fire on simulated time); wall-clock
//! time is [`now`]: the system's, or, on a thread a deterministic simulation set up, a fixed
//! epoch plus the virtual time elapsed since, so that timestamps repeat run after run.
//!
//! Nothing else in the connector reads `SystemTime::now` or `std::time::Instant` outside tests.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

pub use tokio::time::Instant;

thread_local! {
    /// The wall-clock time a simulation's clock started at, and the virtual instant it did.
    static VIRTUAL: Cell<Option<(SystemTime, Instant)>> = const { Cell::new(None) };
}

/// The wall-clock time now.
pub fn now() -> SystemTime {
    match VIRTUAL.with(Cell::get) {
        Some((epoch, started)) => epoch + started.elapsed(),
        None => SystemTime::now(),
    }
}

/// One instance's wall clock: [`now`] shifted by a skew (0 unless a fault skews it), so that
/// instances of one process can disagree about the time as machines do. Cloning shares the skew:
/// the instance, its connector and the payments it sends all read the one clock. Reading it is a
/// relaxed atomic load on top of [`now`].
#[derive(Debug, Clone, Default)]
pub struct Clock {
    skew_ms: Arc<AtomicI64>,
}

/// Two handles are equal when they are the same clock (options holding one compare by it).
impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.skew_ms, &other.skew_ms)
    }
}

impl Eq for Clock {}

impl Clock {
    /// The wall-clock time now, as this instance sees it.
    pub fn now(&self) -> SystemTime {
        let skew_ms = self.skew_ms.load(Ordering::Relaxed);
        let real = now();
        let shifted = if skew_ms >= 0 {
            real.checked_add(Duration::from_millis(skew_ms.unsigned_abs()))
        } else {
            real.checked_sub(Duration::from_millis(skew_ms.unsigned_abs()))
        };
        // A skew past what SystemTime holds cannot be configured meaningfully: keep real time.
        shifted.unwrap_or(real)
    }

    /// Makes this clock run `skew_ms` ahead of real time (behind when negative).
    pub fn set_skew_ms(&self, skew_ms: i64) {
        self.skew_ms.store(skew_ms, Ordering::Relaxed);
    }

    pub fn skew_ms(&self) -> i64 {
        self.skew_ms.load(Ordering::Relaxed)
    }
}

/// Makes this thread's wall clock start at `epoch` and follow tokio's (virtual) monotonic clock,
/// until the guard is dropped.
#[must_use = "the virtual wall clock is in effect only while the guard lives"]
pub fn start_virtual_wall_clock(epoch: SystemTime) -> WallClockGuard {
    let previous = VIRTUAL.with(|clock| clock.replace(Some((epoch, Instant::now()))));
    WallClockGuard { previous }
}

/// Restores the thread's wall clock as it was when dropped.
pub struct WallClockGuard {
    previous: Option<(SystemTime, Instant)>,
}

impl Drop for WallClockGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        VIRTUAL.with(|clock| clock.set(previous));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_virtual_wall_clock_starts_at_its_epoch() {
        let epoch = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        {
            let _clock = start_virtual_wall_clock(epoch);
            let read = now();
            assert!(read >= epoch && read < epoch + Duration::from_secs(5));
        }
        assert!(now() > epoch - Duration::from_secs(1_000_000_000));
        assert!(now().duration_since(UNIX_EPOCH).is_ok());
    }

    #[test]
    fn a_clock_runs_ahead_or_behind_by_its_skew_and_clones_share_it() {
        let epoch = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let _virtual = start_virtual_wall_clock(epoch);
        let clock = Clock::default();
        let shared = clock.clone();
        let unskewed = clock.now();
        assert!(unskewed >= epoch && unskewed < epoch + Duration::from_secs(5));
        shared.set_skew_ms(90_000);
        assert!(clock.now() >= epoch + Duration::from_secs(90));
        shared.set_skew_ms(-90_000);
        assert!(clock.now() < epoch - Duration::from_secs(85));
        assert_eq!(clock.skew_ms(), -90_000);
        // Another instance's clock is its own.
        assert!(Clock::default().now() >= epoch);
    }
}
