//! The peerlab simulator: many peerlab instances in one process, each with real HTTP endpoints
//! on loopback, built from topology files and driven only through their public APIs.

pub mod client;
pub mod deployed;
pub mod event_log;
pub mod export;
pub mod faults;
pub mod faults_elsewhere;
pub mod generate;
pub mod harness;
pub mod healthcheck;
pub mod html_report;
pub mod network;
pub mod network_picture;
pub mod network_view;
pub mod placement;
pub mod receiver;
pub mod remote;
pub mod report;
pub mod run;
pub mod setup;
pub mod topology;

pub use client::{AdminClient, ClientError, CreatedWalletAddress, PeerSettings};
pub use network::{InstanceHandle, Network, NetworkError};
pub use receiver::{TestReceiver, paying_prepare};
pub use topology::Topology;
