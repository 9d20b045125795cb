//! How much a payment may still send: the source amount fulfilled, in flight and in doubt never
//! passes what was asked (or, for a delivered amount, what the slippage allows), and each packet
//! is sized to what is left.

use thiserror::Error;

use super::rate::Ratio;

/// What the payment is for, once the rate is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Send exactly this source amount.
    Source(u64),
    /// Deliver at least `amount` (in the receiver's asset), spending at most `most_source`.
    Delivery {
        amount: u64,
        rate: Ratio,
        most_source: u64,
    },
}

/// A total passed u64 (only a receiver claiming absurd amounts can make one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a payment total passed the largest u64")]
pub struct Overflow;

/// The money of a payment, in source units unless named otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    goal: Goal,
    fulfilled: u64,
    /// In the receiver's units.
    delivered: u64,
    in_flight: u64,
    /// Sent on a link that failed before the reply: it may have been fulfilled.
    in_doubt: u64,
}

impl Budget {
    pub fn new(goal: Goal) -> Self {
        Self {
            goal,
            fulfilled: 0,
            delivered: 0,
            in_flight: 0,
            in_doubt: 0,
        }
    }

    pub fn fulfilled(&self) -> u64 {
        self.fulfilled
    }

    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    pub fn in_doubt(&self) -> u64 {
        self.in_doubt
    }

    /// Everything that may have left: fulfilled, in flight, in doubt. Never above the limit, by
    /// construction of [`Budget::next_packet`].
    fn committed(&self) -> u64 {
        self.fulfilled
            .saturating_add(self.in_flight)
            .saturating_add(self.in_doubt)
    }

    /// The source amount of the next packet: what is left, at most `max_packet`; 0 when nothing
    /// should be sent now.
    pub fn next_packet(&self, max_packet: u64) -> u64 {
        let left = match self.goal {
            Goal::Source(total) => total.saturating_sub(self.committed()),
            Goal::Delivery {
                amount,
                rate,
                most_source,
            } => {
                let undelivered = amount.saturating_sub(self.delivered);
                // What the undelivered part needs at the probed rate, less what is on its way.
                let needed = rate
                    .div_ceil(undelivered)
                    .unwrap_or(u64::MAX)
                    .saturating_sub(self.in_flight);
                needed.min(most_source.saturating_sub(self.committed()))
            }
        };
        left.min(max_packet)
    }

    /// A packet of `amount` left.
    pub fn send(&mut self, amount: u64) -> Result<(), Overflow> {
        self.in_flight = self.in_flight.checked_add(amount).ok_or(Overflow)?;
        Ok(())
    }

    /// The packet of `amount` was fulfilled, delivering `delivered`.
    pub fn fulfill(&mut self, amount: u64, delivered: u64) -> Result<(), Overflow> {
        self.land(amount);
        self.fulfilled = self.fulfilled.checked_add(amount).ok_or(Overflow)?;
        self.delivered = self.delivered.checked_add(delivered).ok_or(Overflow)?;
        Ok(())
    }

    /// The packet of `amount` was rejected: it may be sent again.
    pub fn reject(&mut self, amount: u64) {
        self.land(amount);
    }

    /// The packet of `amount` got no reply: count it as possibly sent, never send it again.
    pub fn doubt(&mut self, amount: u64) -> Result<(), Overflow> {
        self.land(amount);
        self.in_doubt = self.in_doubt.checked_add(amount).ok_or(Overflow)?;
        Ok(())
    }

    fn land(&mut self, amount: u64) {
        // Only amounts that were sent come back.
        self.in_flight = self.in_flight.saturating_sub(amount);
    }

    /// Done: nothing in flight, and the source amount all fulfilled or the delivery made.
    pub fn is_complete(&self) -> bool {
        self.in_flight == 0
            && match self.goal {
                Goal::Source(total) => self.fulfilled == total,
                Goal::Delivery { amount, .. } => self.delivered >= amount,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_amount_is_cut_into_packets_and_never_exceeded() {
        let mut budget = Budget::new(Goal::Source(250));
        let mut sent = Vec::new();
        loop {
            let amount = budget.next_packet(100);
            if amount == 0 {
                break;
            }
            budget.send(amount).unwrap();
            sent.push(amount);
        }
        assert_eq!(sent, [100, 100, 50]);
        assert!(!budget.is_complete());
        budget.fulfill(100, 100).unwrap();
        budget.reject(100);
        // The rejected 100 may go again; nothing more.
        assert_eq!(budget.next_packet(u64::MAX), 100);
        budget.send(100).unwrap();
        budget.fulfill(100, 100).unwrap();
        budget.fulfill(50, 50).unwrap();
        assert_eq!(budget.next_packet(u64::MAX), 0);
        assert!(budget.is_complete());
        assert_eq!((budget.fulfilled(), budget.delivered()), (250, 250));
    }

    #[test]
    fn an_amount_in_doubt_is_never_sent_again() {
        let mut budget = Budget::new(Goal::Source(100));
        budget.send(60).unwrap();
        budget.doubt(60).unwrap();
        assert_eq!(budget.next_packet(u64::MAX), 40);
        assert_eq!(budget.in_doubt(), 60);
        assert!(!budget.is_complete());
    }

    #[test]
    fn a_delivery_sends_what_the_undelivered_part_needs_and_stops_once_delivered() {
        let rate = Ratio::new(910, 1000).unwrap();
        let mut budget = Budget::new(Goal::Delivery {
            amount: 1000,
            rate,
            most_source: 1011,
        });
        // The rate needs 1099, but the cap (what the slippage allows) is lower.
        assert_eq!(budget.next_packet(u64::MAX), 1011);
        assert_eq!(budget.next_packet(500), 500);
        budget.send(500).unwrap();
        // 1099 needed, 500 on the way.
        assert_eq!(budget.next_packet(u64::MAX), 511);
        budget.fulfill(500, 455).unwrap();
        // 545 undelivered needs 599; 511 left under the cap.
        assert_eq!(budget.next_packet(u64::MAX), 511);
        budget.send(511).unwrap();
        budget.fulfill(511, 465).unwrap();
        // 920 delivered of 1000, and the cap is spent: nothing more may go.
        assert_eq!(budget.next_packet(u64::MAX), 0);
        assert!(!budget.is_complete());
    }

    #[test]
    fn a_delivery_is_complete_once_the_amount_arrived() {
        let mut budget = Budget::new(Goal::Delivery {
            amount: 910,
            rate: Ratio::new(910, 1000).unwrap(),
            most_source: 1011,
        });
        assert_eq!(budget.next_packet(u64::MAX), 1000);
        budget.send(1000).unwrap();
        assert_eq!(budget.next_packet(u64::MAX), 0);
        budget.fulfill(1000, 910).unwrap();
        assert!(budget.is_complete());
        assert_eq!(budget.next_packet(u64::MAX), 0);
    }

    #[test]
    fn absurd_deliveries_overflow_as_errors() {
        let mut budget = Budget::new(Goal::Source(10));
        budget.send(5).unwrap();
        budget.fulfill(5, u64::MAX).unwrap();
        budget.send(5).unwrap();
        assert_eq!(budget.fulfill(5, 1), Err(Overflow));
    }
}
