//! peerlab: an in-memory Interledger connector that peers the way Rafiki does.
//!
//! The crate is layered so that the parts that decide money and wire bytes are pure:
//! - [`ilp`]: ILPv4 packets in canonical OER, ILP addresses, error codes and IL-DCP. No I/O.
//! - [`ledger`]: a double-entry ledger with two-phase transfers, driven by a caller-supplied clock.
//!   No I/O, no async, no wall clock.
//!
//! Everything asynchronous (HTTP servers, timers, the admin API) is built around these two.
#![forbid(unsafe_code)]

pub mod admin;
pub mod autopeer;
pub mod clock;
pub mod config;
pub mod connector;
pub mod dashboard;
pub mod entropy;
pub mod events;
pub mod http_server;
pub mod ilp;
pub mod instance;
pub mod ledger;
pub mod net;
pub mod node;
pub mod openpayments;
pub mod payments;
pub mod planted;
pub mod stream;
pub mod text;
