//! A token bucket per incoming peer (Rafiki's `createIncomingRateLimitMiddleware`).

use crate::clock::Instant;
use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Allows each peer `per_second` packets per second, in bursts of up to one second's worth.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({:.1})", self.tokens)
    }
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `peer`'s bucket; false when it is empty.
    pub fn allow(&self, peer: Uuid, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(peer).or_insert(Bucket {
            tokens: self.per_second,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_up_to_the_rate_then_refills() {
        let limiter = RateLimiter::new(3);
        let (peer, other) = (Uuid::new_v4(), Uuid::new_v4());
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.allow(peer, start)));
        assert!(!limiter.allow(peer, start));
        assert!(limiter.allow(other, start), "buckets are per peer");
        assert!(limiter.allow(peer, start + Duration::from_millis(400)));
        assert!(!limiter.allow(peer, start + Duration::from_millis(400)));
    }
}
