//! Bugs planted on purpose: they prove that a deterministic run's seed search (`peerlab run
//! --until-failure`) finds a failure and that the seed it prints replays it. None is on unless a
//! test, or `peerlab run`'s hidden `--planted-bug` switch, plants one on the thread a
//! deterministic run owns; the connector asks only where the bug would act, so a run without one
//! pays a thread-local read on a rejected packet's path and nothing else.

use std::cell::Cell;

/// A bug that can be planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// Now and then (one rejected packet in [`DROP_VOID_ONE_IN`], drawn from the run's entropy)
    /// the connector forgets to void the reservation of a rejected packet: its liquidity stays
    /// held, and the run's invariants must notice.
    DropVoid,
}

/// How rare a dropped void is: rare enough that some seeds of a short run never meet one.
pub const DROP_VOID_ONE_IN: u16 = 400;

thread_local! {
    static PLANTED: Cell<Option<PlantedBug>> = const { Cell::new(None) };
}

/// Plants `bug` on this thread until the guard is dropped.
#[must_use = "the bug is planted only while the guard lives"]
pub fn plant_on_this_thread(bug: PlantedBug) -> PlantedGuard {
    PlantedGuard {
        previous: PLANTED.with(|planted| planted.replace(Some(bug))),
    }
}

/// Restores the thread's planted bug (none, usually) when dropped.
pub struct PlantedGuard {
    previous: Option<PlantedBug>,
}

impl Drop for PlantedGuard {
    fn drop(&mut self) {
        PLANTED.with(|planted| planted.set(self.previous));
    }
}

/// Whether the void about to be made is dropped instead.
pub(crate) fn drops_this_void() -> bool {
    if PLANTED.with(Cell::get) != Some(PlantedBug::DropVoid) {
        return false;
    }
    let draw = u16::from_le_bytes(crate::entropy::bytes::<2>());
    draw.is_multiple_of(DROP_VOID_ONE_IN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_void_is_dropped_unless_the_bug_is_planted() {
        assert!(!(0..10_000).any(|_| drops_this_void()));
        let dropped = {
            let _bug = plant_on_this_thread(PlantedBug::DropVoid);
            (0..40_000).filter(|_| drops_this_void()).count()
        };
        // About one in DROP_VOID_ONE_IN.
        assert!((40..=200).contains(&dropped), "{dropped}");
        assert!(!(0..10_000).any(|_| drops_this_void()));
    }
}
