//! Step definitions, one module per domain concept.

mod answers;
mod assets;
mod auth;
mod instances;
mod liquidity;
mod peers;
mod withdrawals;
