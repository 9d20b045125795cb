//! STREAM (RFC 0029) on the wire: packets and frames, their encryption, fulfillments, and the
//! stateless derivation of receiving addresses and shared secrets. Pure code: no I/O and no
//! clock; the only outside input is the operating system's random generator, for nonces and
//! tokens.
//!
//! - [`crypto`]: key derivation, fulfillment and condition, the AES-256-GCM envelope.
//! - [`frame`]: every frame type and the close error codes.
//! - [`packet`]: the STREAM packet, plain and encrypted.
//! - [`server_secret`]: receiving addresses and shared secrets from one server secret.

pub mod crypto;
pub mod frame;
pub mod packet;
pub mod server_secret;

pub use crypto::{DecryptError, SharedSecret, SharedSecretLengthError, random_condition};
pub use frame::{Frame, StreamErrorCode};
pub use packet::{
    MAX_PLAINTEXT_LENGTH, STREAM_VERSION, StreamDecodeError, StreamPacket, StreamPacketError,
};
pub use server_secret::{
    ConnectionDetails, Credentials, CredentialsError, IncomingConnection, ReceiptSecrets,
    ServerSecret, TokenError,
};
