//! The connector: ILP-over-HTTP in and out, and the packet pipeline between them (routing is
//! instance state, in [`crate::instance::routing`]).

pub mod client;
pub mod dedup;
pub mod errors;
pub mod http;
pub mod pipeline;
pub mod rate_limit;
pub mod rates;
pub mod stats;

pub use errors::PacketError;
pub use pipeline::{Connector, ConnectorSettings};
pub use stats::{LinkStats, PacketCounts, PacketStats, PacketStatsSnapshot};
