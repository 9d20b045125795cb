//! Duplicate Prepares: the same Prepare arriving again from the same peer (a link that delivers a
//! request twice, or a sender retrying after its connection broke before the reply came back) is
//! answered with the first one's reply and processed once. Without this a retried Prepare whose
//! first copy was fulfilled would be refused as a STREAM replay, and the sender would void what
//! the receiver posted: the two sides of the peering would disagree.
//!
//! A Prepare is known by the peer it came from and the first 128 bits of the SHA-256 of its
//! fields (amount, expiry, condition, destination and data, each of variable length preceded by
//! its length). That is the encoded Prepare's content without encoding it again (no allocation),
//! so it is as safe as hashing the encoding: two Prepares share a key only if they are the same
//! packet (or by a 2^-64 chance among 2^32 remembered at once; no one can aim at it without
//! breaking SHA-256). The
//! condition alone would not do: a sender may reuse a condition for different packets (another
//! amount or expiry), and those must each be processed.
//!
//! Entries live until their Prepare expires (a copy arriving later is refused for its expiry
//! anyway). Each shard keeps its keys in arrival order, so expired entries are dropped a few at a
//! time from the front as new ones come in, never by scanning the map under the lock; an entry
//! found past its expiry (one that arrived after an entry expiring later) counts as gone. The
//! cache is bounded: when a shard is full, its oldest entry is forgotten first.
//!
//! Most Prepares are never seen twice, so the common path costs one lock, one map insert and one
//! queue push, and the reply is kept in the map itself: a waiter's wake-up (`Notify`) is made only
//! for a copy that arrives while its first is still under way.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::ilp::{Prepare, Reply, Timestamp};

/// Independent locks, so that packets from different peers rarely wait on each other.
const SHARDS: usize = 16;
/// Prepares remembered per connector: a peer sending 4,000 packets a second with Rafiki's 30 s
/// lifetime keeps 120,000 in flight; this covers twice that. Memory grows with traffic, not
/// history: an idle instance holds none.
pub const CAPACITY: usize = 262_144;

/// The peer and the first 128 bits of the Prepare's SHA-256: two different Prepares from one peer
/// share them with a chance of 2^-64 even among 2^32 remembered at once, and a smaller key keeps
/// every slot of the map small (the map's slots, not its entries, are its memory).
type Key = (Uuid, [u8; 16]);

#[derive(Debug)]
pub struct Deduplicator {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<Key, Entry>,
    /// Every key of `entries` in arrival order, with its expiry (and, briefly, keys of entries
    /// forgotten early, which find no entry or another generation's when they come up).
    arrivals: VecDeque<(Timestamp, Key, u32)>,
    /// Numbers entries, so that an arrival left behind by a forgotten entry never removes the
    /// entry registered again under its key.
    generation: u32,
    /// Whether the map was given, once, room for twice the shard's capacity (see `begin`).
    sized: bool,
}

#[derive(Debug)]
struct Entry {
    expires_at: Timestamp,
    generation: u32,
    state: State,
}

#[derive(Debug)]
enum State {
    /// The first copy is under way; `waiters` is made when a copy arrives meanwhile.
    UnderWay { waiters: Option<Arc<Notify>> },
    /// The first copy's reply, boxed so that the map's every slot stays small.
    Replied(Box<Reply>),
}

/// What a Prepare is to the cache.
pub enum Seen<'a> {
    /// The first copy: process it, then [`First::finish`] with its reply.
    First(First<'a>),
    /// A copy of one being processed or processed already: its reply comes from
    /// [`Duplicate::reply`].
    Duplicate(Duplicate<'a>),
}

/// The first copy of a Prepare, being processed. Dropped unfinished (its request abandoned), it is
/// forgotten, and a copy waiting on it processes the Prepare itself.
pub struct First<'a> {
    shard: &'a Mutex<Shard>,
    key: Key,
    generation: u32,
    finished: bool,
}

pub struct Duplicate<'a> {
    shard: &'a Mutex<Shard>,
    key: Key,
    generation: u32,
    /// Set when the reply was there already.
    reply: Option<Reply>,
    /// Woken when the first copy ends, when it had not yet.
    waiters: Option<Arc<Notify>>,
}

impl Deduplicator {
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// Registers `prepare` from `peer`, or finds it registered. `now` is the instance's clock.
    pub fn begin(&self, peer: Uuid, prepare: &Prepare, now: Timestamp) -> Seen<'_> {
        let key = (peer, fingerprint(prepare));
        let shard_mutex = &self.shards[usize::from(key.1[0]) % SHARDS];
        let mut shard = lock(shard_mutex);
        // Expired ones first, so that an expired Prepare arriving again is processed (and
        // refused for its expiry) rather than answered from the cache.
        shard.forget_expired(now);
        if let Some(entry) = shard.entries.get_mut(&key)
            && entry.expires_at >= now
        {
            let generation = entry.generation;
            let (reply, waiters) = match &mut entry.state {
                State::Replied(reply) => (Some(Reply::clone(reply)), None),
                State::UnderWay { waiters } => {
                    (None, Some(waiters.get_or_insert_with(Arc::default).clone()))
                }
            };
            return Seen::Duplicate(Duplicate {
                shard: shard_mutex,
                key,
                generation,
                reply,
                waiters,
            });
        }
        if shard.arrivals.len() >= self.per_shard {
            // Full from now on, and churning: a map whose live entries fill more than half its
            // room grows (doubles) when removals have used up its free slots, at a moment that
            // depends on the traffic. Giving it that room the first time it is full makes its
            // memory reach its ceiling at once and stay there.
            if !shard.sized {
                shard.sized = true;
                let room = self.per_shard;
                shard.entries.reserve(room);
            }
            while shard.arrivals.len() >= self.per_shard {
                shard.forget_oldest();
            }
        }
        shard.generation = shard.generation.wrapping_add(1);
        let generation = shard.generation;
        let expires_at = prepare.expires_at();
        let replaced = shard.entries.insert(
            key,
            Entry {
                expires_at,
                generation,
                state: State::UnderWay { waiters: None },
            },
        );
        // An expired one under the same key: whoever waits on it processes afresh.
        if let Some(expired) = replaced {
            expired.discard();
        }
        shard.arrivals.push_back((expires_at, key, generation));
        Seen::First(First {
            shard: shard_mutex,
            key,
            generation,
            finished: false,
        })
    }

    /// Prepares remembered now (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).entries.len())
            .sum()
    }
}

impl Default for Deduplicator {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

impl Shard {
    fn forget_expired(&mut self, now: Timestamp) {
        while let Some((expiry, _, _)) = self.arrivals.front()
            && *expiry < now
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((_, key, generation)) = self.arrivals.pop_front() {
            self.remove(&key, generation);
        }
    }

    /// Forgets the entry under `key` if it is still `generation`'s.
    fn remove(&mut self, key: &Key, generation: u32) {
        if self
            .entries
            .get(key)
            .is_some_and(|entry| entry.generation == generation)
            && let Some(entry) = self.entries.remove(key)
        {
            entry.discard();
        }
    }

    /// The entry under `key` if it is still `generation`'s.
    fn entry(&mut self, key: &Key, generation: u32) -> Option<&mut Entry> {
        self.entries
            .get_mut(key)
            .filter(|entry| entry.generation == generation)
    }
}

impl Entry {
    /// A forgotten entry: copies waiting on its first are woken, find it gone, and are
    /// processed afresh.
    fn discard(self) {
        if let State::UnderWay {
            waiters: Some(waiters),
        } = self.state
        {
            waiters.notify_waiters();
        }
    }
}

impl First<'_> {
    /// Hands the reply to every copy waiting and every copy to come.
    pub fn finish(mut self, reply: &Reply) {
        self.finished = true;
        let mut shard = lock(self.shard);
        if let Some(entry) = shard.entry(&self.key, self.generation) {
            let before =
                std::mem::replace(&mut entry.state, State::Replied(Box::new(reply.clone())));
            if let State::UnderWay {
                waiters: Some(waiters),
            } = before
            {
                waiters.notify_waiters();
            }
        }
    }
}

impl Drop for First<'_> {
    fn drop(&mut self) {
        // Abandoned before its reply: forget it, so the next copy is processed rather than
        // waiting for nothing (its arrival is dropped when it comes up).
        if self.finished {
            return;
        }
        lock(self.shard).remove(&self.key, self.generation);
    }
}

impl Duplicate<'_> {
    /// The first copy's reply, waited for while it is processed; `None` if the first copy was
    /// abandoned without one (then this copy should be processed afresh).
    pub async fn reply(mut self) -> Option<Reply> {
        if let Some(reply) = self.reply.take() {
            return Some(reply);
        }
        let waiters = self.waiters.take()?;
        loop {
            // Registered before looking, so a reply set in between still wakes this copy.
            let settled = waiters.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match lock(self.shard)
                .entry(&self.key, self.generation)
                .map(|entry| &entry.state)
            {
                Some(State::Replied(reply)) => return Some(Reply::clone(reply)),
                Some(State::UnderWay { .. }) => {}
                // Abandoned (or forgotten): processed afresh.
                None => return None,
            }
            settled.await;
        }
    }
}

/// The first half of the SHA-256 of a Prepare's fields, each variable-length one preceded by its
/// length, so that different Prepares never give the same input.
fn fingerprint(prepare: &Prepare) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update(prepare.amount().to_be_bytes());
    hash.update(prepare.expires_at().unix_millis().to_be_bytes());
    hash.update(prepare.execution_condition());
    let destination = prepare.destination().as_str().as_bytes();
    hash.update((destination.len() as u64).to_be_bytes());
    hash.update(destination);
    hash.update((prepare.data().len() as u64).to_be_bytes());
    hash.update(prepare.data());
    let digest: [u8; 32] = hash.finalize().into();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panicking holder leaves at worst an entry without its arrival or the reverse; both are
    // dropped in time.
    shard
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::{Address, Fulfill};
    use bytes::Bytes;
    use std::time::Duration;

    fn prepare(amount: u64, expires_at: Timestamp) -> Prepare {
        Prepare::new(
            Address::parse("test.bob.x").unwrap(),
            amount,
            expires_at,
            [7; 32],
            Bytes::from_static(b"stream data"),
        )
        .unwrap()
    }

    fn fulfill() -> Reply {
        Reply::Fulfill(Fulfill::new([1; 32], Bytes::from_static(b"ok")).unwrap())
    }

    #[tokio::test]
    async fn a_second_copy_gets_the_first_reply_and_waits_for_it_while_in_flight() {
        let dedup = Deduplicator::default();
        let now = Timestamp::now();
        let later = now.saturating_add(Duration::from_secs(30));
        let peer = Uuid::from_u128(1);
        let Seen::First(first) = dedup.begin(peer, &prepare(10, later), now) else {
            panic!("the first copy must be processed");
        };
        let Seen::Duplicate(waiting) = dedup.begin(peer, &prepare(10, later), now) else {
            panic!("the second copy must not be processed");
        };
        let mut waiter = Box::pin(waiting.reply());
        let pending = tokio::time::timeout(Duration::from_millis(5), waiter.as_mut()).await;
        assert!(pending.is_err(), "answered before the first copy was");
        first.finish(&fulfill());
        assert_eq!(waiter.await, Some(fulfill()));
        let Seen::Duplicate(after) = dedup.begin(peer, &prepare(10, later), now) else {
            panic!("a copy after the reply must not be processed");
        };
        assert_eq!(after.reply().await, Some(fulfill()));
    }

    #[test]
    fn other_peers_amounts_and_expiries_are_other_packets() {
        let dedup = Deduplicator::default();
        let now = Timestamp::now();
        let later = now.saturating_add(Duration::from_secs(30));
        let mut firsts = Vec::new();
        for (peer, amount, expiry) in [
            (1, 10, later),
            (2, 10, later),
            (1, 11, later),
            (1, 10, later.saturating_add(Duration::from_millis(1))),
        ] {
            match dedup.begin(Uuid::from_u128(peer), &prepare(amount, expiry), now) {
                Seen::First(first) => firsts.push(first),
                Seen::Duplicate(_) => panic!("{peer} {amount} counted as a duplicate"),
            }
        }
        assert_eq!(dedup.len(), 4);
    }

    #[tokio::test]
    async fn an_abandoned_first_copy_lets_the_next_be_processed() {
        let dedup = Deduplicator::default();
        let now = Timestamp::now();
        let packet = prepare(10, now.saturating_add(Duration::from_secs(30)));
        let peer = Uuid::from_u128(1);
        let Seen::First(first) = dedup.begin(peer, &packet, now) else {
            panic!("first");
        };
        let Seen::Duplicate(waiting) = dedup.begin(peer, &packet, now) else {
            panic!("second");
        };
        drop(first);
        assert_eq!(waiting.reply().await, None);
        assert!(matches!(dedup.begin(peer, &packet, now), Seen::First(_)));
    }

    #[tokio::test]
    async fn a_copy_waiting_on_a_first_that_expires_is_woken_and_processed_afresh() {
        let dedup = Deduplicator::default();
        let now = Timestamp::now();
        let expiry = now.saturating_add(Duration::from_secs(1));
        let packet = prepare(10, expiry);
        let peer = Uuid::from_u128(1);
        let Seen::First(_stuck) = dedup.begin(peer, &packet, now) else {
            panic!("first");
        };
        let Seen::Duplicate(waiting) = dedup.begin(peer, &packet, now) else {
            panic!("second");
        };
        let mut waiter = Box::pin(waiting.reply());
        let pending = tokio::time::timeout(Duration::from_millis(5), waiter.as_mut()).await;
        assert!(pending.is_err(), "answered before its first was");
        // Past its expiry the first is forgotten: the copy waiting on it is told so.
        let later = expiry.saturating_add(Duration::from_millis(1));
        assert!(matches!(dedup.begin(peer, &packet, later), Seen::First(_)));
        assert_eq!(waiter.await, None);
    }

    #[test]
    fn expired_entries_go_and_a_full_cache_forgets_the_soonest_to_expire() {
        let dedup = Deduplicator::new(SHARDS * 2);
        let now = Timestamp::now();
        let peer = Uuid::from_u128(1);
        let finish = |seen: Seen<'_>| match seen {
            Seen::First(first) => first.finish(&fulfill()),
            Seen::Duplicate(_) => panic!("not a duplicate"),
        };
        // Many packets in one shard's worth of capacity: never more than the cap remembered.
        for amount in 0..200 {
            let expiry = now.saturating_add(Duration::from_secs(amount + 1));
            finish(dedup.begin(peer, &prepare(amount, expiry), now));
        }
        assert!(dedup.len() <= SHARDS * 2, "{}", dedup.len());
        // The latest expiring are kept; the soonest are gone.
        let last = prepare(199, now.saturating_add(Duration::from_secs(200)));
        assert!(matches!(dedup.begin(peer, &last, now), Seen::Duplicate(_)));
        assert!(matches!(
            dedup.begin(
                peer,
                &prepare(0, now.saturating_add(Duration::from_secs(1))),
                now
            ),
            Seen::First(_)
        ));
        // Once past every expiry, all are forgotten as new ones arrive.
        let much_later = now.saturating_add(Duration::from_secs(1_000));
        for amount in 0..(SHARDS as u64 * 8) {
            let expiry = much_later.saturating_add(Duration::from_secs(amount + 1));
            finish(dedup.begin(peer, &prepare(1_000 + amount, expiry), much_later));
        }
        assert!(matches!(
            dedup.begin(peer, &last, much_later),
            Seen::First(_)
        ));
    }
}
