//! Time as the connector reads it. Monotonic time is tokio's [`Instant`] (virtual when a
//! simulation pauses tokio's clock, so timeouts and expiries fire on simulated time); wall-clock
//! time is [`now`]: the system's, or, on a thread a deterministic simulation set up, a fixed
//! epoch plus the virtual time elapsed since, so that timestamps repeat run after run.
//!
//! Nothing else in the connector reads `SystemTime::now` or `std::time::Instant` outside tests.

use std::cell::Cell;
use std::time::SystemTime;

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
}
