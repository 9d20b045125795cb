//! STREAM above the wire format (which is pure code in [`crate::ilp::stream`]): the receiver that
//! answers inside the packet path.

pub mod receiver;

pub use receiver::{ReceiveError, ReceiveTarget, ReceivingAddress, StreamReceiver};
