//! Interledger wire formats: ILPv4 packets, addresses, error codes, IL-DCP and STREAM. Pure code,
//! no I/O.

pub mod address;
pub mod error_code;
pub mod ildcp;
pub mod oer;
pub mod packet;
pub mod stream;
pub mod timestamp;

pub use address::{Address, AddressError, Scheme};
pub use error_code::{AmountTooLargeData, ErrorClass, ErrorCode};
pub use ildcp::{IldcpResponse, is_ildcp_request};
pub use packet::{
    BuildError, DecodeError, Fulfill, MAX_DATA_LENGTH, MAX_MESSAGE_LENGTH, MAX_PREPARE_LENGTH,
    Packet, PacketType, Prepare, Reject, Reply, condition_for,
};
pub use timestamp::Timestamp;
