//! The connector: ILP-over-HTTP in and out, routing, and the packet pipeline between them.

pub mod client;
pub mod errors;
pub mod http;
pub mod pipeline;
pub mod rate_limit;
pub mod routing;

pub use errors::PacketError;
pub use pipeline::{Connector, ConnectorSettings};
pub use routing::RoutingTable;
