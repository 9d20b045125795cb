//! How many packets a payment keeps in flight, and how long it pauses after a temporary
//! reject: additive increase on each Fulfill, halving on each temporary reject, in the spirit of
//! the JS sender's congestion control (which does the same with amounts).

use std::time::Duration;

/// The number of packets a payment may have in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CongestionWindow {
    size: usize,
    max: usize,
}

impl CongestionWindow {
    /// A window of `initial` packets that never grows past `max` (both at least 1).
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Self {
            size: initial.clamp(1, max),
            max,
        }
    }

    pub fn size(self) -> usize {
        self.size
    }

    /// A packet went through: one more may be in flight.
    pub fn on_fulfill(&mut self) {
        self.size = (self.size + 1).min(self.max);
    }

    /// The path is short of liquidity or busy: halve, keeping at least one packet going.
    pub fn on_temporary_reject(&mut self) {
        self.size = (self.size / 2).max(1);
    }
}

/// Exponential backoff between `base` and `max`; each delay handed out doubles the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        let base = base.min(max);
        Self {
            base,
            max,
            next: base,
        }
    }

    /// The delay to wait now.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Progress was made: the next wait is short again.
    pub fn reset(&mut self) {
        self.next = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_grows_by_one_per_fulfill_up_to_its_cap() {
        let mut window = CongestionWindow::new(4, 6);
        assert_eq!(window.size(), 4);
        window.on_fulfill();
        assert_eq!(window.size(), 5);
        window.on_fulfill();
        window.on_fulfill();
        assert_eq!(window.size(), 6);
    }

    #[test]
    fn the_window_halves_on_temporary_rejects_but_keeps_one_packet() {
        let mut window = CongestionWindow::new(9, 20);
        window.on_temporary_reject();
        assert_eq!(window.size(), 4);
        window.on_temporary_reject();
        window.on_temporary_reject();
        assert_eq!(window.size(), 1);
        window.on_temporary_reject();
        assert_eq!(window.size(), 1);
        window.on_fulfill();
        assert_eq!(window.size(), 2);
    }

    #[test]
    fn a_window_is_never_empty_nor_above_its_cap() {
        assert_eq!(CongestionWindow::new(0, 0).size(), 1);
        assert_eq!(CongestionWindow::new(10, 3).size(), 3);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u64> = (0..5)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}
