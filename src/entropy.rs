//! Where an instance's randomness comes from: the operating system's generator (through a
//! per-thread ChaCha20 it keys, and keys again every MiB), or, on a thread
//! a deterministic simulation has seeded, a ChaCha generator drawn from that seed, so that every
//! id, token, nonce and secret repeats run after run and machine after machine.
//!
//! Every random value the connector makes comes through here ([`fill`], [`uuid`]); nothing else
//! calls the operating system's generator or `Uuid::new_v4` outside tests.

use std::cell::RefCell;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use uuid::Uuid;

thread_local! {
    /// The seeded generator of this thread, when a simulation installed one.
    static SEEDED: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
    /// Otherwise this thread's ChaCha20 keyed by the operating system's generator, and how many
    /// bytes it may still give before it is keyed again: a system call for every transfer id
    /// cost the packet path more than the generator does.
    static FROM_OS: RefCell<Option<(ChaCha20Rng, usize)>> = const { RefCell::new(None) };
}

/// Bytes drawn from one key from the operating system before the next.
const RESEED_AFTER: usize = 1 << 20;

/// Fills `bytes` from this thread's OS-keyed generator, keying it when it is new or used up.
fn fill_from_os(bytes: &mut [u8]) {
    FROM_OS.with(|generator| {
        let mut generator = generator.borrow_mut();
        let fresh = !matches!(generator.as_ref(), Some((_, left)) if *left >= bytes.len());
        if fresh {
            let mut key = [0u8; 32];
            // Without an OS random generator nothing secret can be made: no nonce, token or
            // secret. That is an unusable host, not an input error, and carrying on would be
            // unsafe.
            getrandom::fill(&mut key).expect("the operating system's random generator failed");
            *generator = Some((ChaCha20Rng::from_seed(key), RESEED_AFTER));
        }
        if let Some((rng, left)) = generator.as_mut() {
            rng.fill_bytes(bytes);
            *left = left.saturating_sub(bytes.len());
        }
    });
}

/// Seeds this thread's randomness until the guard is dropped: a deterministic simulation runs on
/// one thread, so everything it runs draws from this seed in the order it runs.
#[must_use = "the seed is in effect only while the guard lives"]
pub fn seed_this_thread(seed: u64) -> SeedGuard {
    let previous = SEEDED.with(|seeded| seeded.replace(Some(ChaCha20Rng::seed_from_u64(seed))));
    SeedGuard { previous }
}

/// Restores the thread's randomness as it was when dropped.
pub struct SeedGuard {
    previous: Option<ChaCha20Rng>,
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        SEEDED.with(|seeded| *seeded.borrow_mut() = previous);
    }
}

/// Whether this thread draws from a seed.
pub fn is_seeded() -> bool {
    SEEDED.with(|seeded| seeded.borrow().is_some())
}

/// Fills `bytes` with random bytes.
pub fn fill(bytes: &mut [u8]) {
    let drawn = SEEDED.with(|seeded| match seeded.borrow_mut().as_mut() {
        Some(generator) => {
            generator.fill_bytes(bytes);
            true
        }
        None => false,
    });
    if !drawn {
        fill_from_os(bytes);
    }
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    fill(&mut bytes);
    bytes
}

/// A random (version 4) UUID, as Rafiki makes ids.
pub fn uuid() -> Uuid {
    uuid::Builder::from_random_bytes(bytes()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseeded_draws_differ_across_rekeying_and_threads() {
        let mut seen = std::collections::HashSet::new();
        // Past the point where the generator is keyed again.
        for _ in 0..(RESEED_AFTER / 16 + 100) {
            assert!(seen.insert(uuid()), "a repeated id");
        }
        let mut big = vec![0u8; RESEED_AFTER + 1];
        fill(&mut big);
        assert!(big.iter().any(|&byte| byte != 0));
        let elsewhere = std::thread::spawn(uuid).join().unwrap();
        assert!(seen.insert(elsewhere));
    }

    #[test]
    fn a_seed_repeats_its_values_and_only_while_it_lives() {
        let first: Vec<Uuid> = {
            let _seed = seed_this_thread(7);
            (0..3).map(|_| uuid()).collect()
        };
        let again: Vec<Uuid> = {
            let _seed = seed_this_thread(7);
            (0..3).map(|_| uuid()).collect()
        };
        assert_eq!(first, again);
        let other: Vec<Uuid> = {
            let _seed = seed_this_thread(8);
            (0..3).map(|_| uuid()).collect()
        };
        assert_ne!(first, other);
        assert!(!is_seeded());
        assert_ne!(uuid(), uuid());
        assert_eq!(first[0].get_version_num(), 4);
    }

    #[test]
    fn seeds_nest_and_restore() {
        let _outer = seed_this_thread(1);
        let outer_first = uuid();
        {
            let _inner = seed_this_thread(2);
            uuid();
        }
        let _again = seed_this_thread(1);
        assert_eq!(uuid(), outer_first);
    }
}
