//! STREAM above the wire format (which is pure code in [`crate::ilp::stream`]): the receiver that
//! answers inside the packet path, and the sender, a library API that pays through any link.

pub mod receiver;
pub mod sender;

pub use receiver::{ReceiveError, ReceiveTarget, ReceivingAddress, StreamReceiver};
pub use sender::{
    Amount, Destination, HttpLink, InProcessLink, PacketLink, PaymentError, PaymentOptions,
    PaymentReport, ProbedPath, pay, pay_probed, probe_path,
};
