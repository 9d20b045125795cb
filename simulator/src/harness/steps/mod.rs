//! Step definitions, one module per domain concept.
//!
//! cucumber collects the `#[given]`, `#[when]` and `#[then]` functions through `inventory`, whose
//! registrations nothing calls: in a library, the linker may drop a module's object code that no
//! one references, and its steps with it. Each module's `keep_linked` is called from
//! [`keep_linked`], which the harness calls before it runs, so every module is referenced.

mod answers;
mod assets;
mod auth;
mod auto_peering;
mod faults;
mod instances;
mod liquidity;
mod packets;
mod payments;
mod peers;
mod topologies;
mod wallet_addresses;
mod withdrawals;

pub(crate) fn keep_linked() {
    answers::keep_linked();
    assets::keep_linked();
    auth::keep_linked();
    auto_peering::keep_linked();
    faults::keep_linked();
    instances::keep_linked();
    liquidity::keep_linked();
    packets::keep_linked();
    payments::keep_linked();
    peers::keep_linked();
    topologies::keep_linked();
    wallet_addresses::keep_linked();
    withdrawals::keep_linked();
}
