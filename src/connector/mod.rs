//! The connector: how packets find their next hop.

pub mod routing;

pub use routing::RoutingTable;
