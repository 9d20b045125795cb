//! Step definitions, one module per domain concept.

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
