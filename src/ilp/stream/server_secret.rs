//! Stateless STREAM receiving addresses: from one server secret, the receiving address suffix and
//! shared secret of every connection, so that a receiver recognises its packets without storing
//! anything per connection.
//!
//! The derivation is interledgerjs `ilp-protocol-stream`'s (`Server.generateAddressAndSecret`
//! and `ServerConnectionPool`, 2.7.x):
//! - token plaintext = 18 random bytes || var-octets(connection tag) || var-octets(receipt
//!   nonce, 0 or 16 bytes) || var-octets(receipt secret, 0 or 32 bytes);
//! - token = AES-256-GCM of it under the server secret itself, in STREAM's envelope layout
//!   (nonce || tag || ciphertext), so only this server can have made it;
//! - shared secret = HMAC(HMAC(server secret, "ilp_stream_shared_secret"), token bytes);
//! - receiving address = receiver address + "." + base64url(token), unpadded; a packet's token
//!   is the first segment after the receiver address (more segments may follow).
//!
//! The connection tag is free for the caller: it comes back, authenticated, with every packet
//! (peerlab can put the wallet address it pays into there).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

use super::crypto::{self, DecryptError, SharedSecret, hmac_sha256};
use crate::ilp::Address;
use crate::ilp::oer::{self, Reader};

/// Random bytes at the front of every token plaintext (JS `TOKEN_NONCE_LENGTH`).
const TOKEN_NONCE_LENGTH: usize = 18;
/// Receipt nonce length when receipts are on (RFC 0039).
pub const RECEIPT_NONCE_LENGTH: usize = 16;
/// Receipt secret length when receipts are on (RFC 0039).
pub const RECEIPT_SECRET_LENGTH: usize = 32;
/// Longest connection tag accepted. JS sets none; this one keeps the address segment near 400
/// characters at most, well inside an ILP address's 1023.
pub const MAX_CONNECTION_TAG_LENGTH: usize = 256;

const SHARED_SECRET_GENERATION_STRING: &[u8] = b"ilp_stream_shared_secret";

/// Why a destination does not name a connection of this receiver. A receiver answers all of them
/// alike (F02 with an empty message, as JS does), so as not to tell a prober which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("destination has no segment after the receiver's address")]
    NoToken,
    #[error("connection token is not unpadded base64url")]
    NotBase64,
    #[error("connection token was not made with this server secret")]
    NotOurs(#[from] DecryptError),
    #[error("connection token contents are malformed")]
    Malformed,
}

/// Connection details that cannot go into a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CredentialsError {
    #[error("connection tag is {0} bytes; at most 256 are allowed")]
    TagTooLong(usize),
}

/// The RFC 0039 receipt nonce and secret a connection signs its receipts with.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptSecrets {
    pub nonce: [u8; RECEIPT_NONCE_LENGTH],
    pub secret: [u8; RECEIPT_SECRET_LENGTH],
}

impl fmt::Debug for ReceiptSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSecrets")
            .field("nonce", &hex::encode(self.nonce))
            .finish_non_exhaustive()
    }
}

/// What a token carries besides its nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionDetails {
    /// Caller-chosen bytes (JS `connectionTag`), empty when none.
    pub connection_tag: Vec<u8>,
    pub receipt: Option<ReceiptSecrets>,
}

/// A new connection's credentials, to hand to a sender (SPSP `destination_account` is the
/// receiver address + "." + `address_suffix`; `shared_secret` is SPSP's `shared_secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The raw token, what the shared secret is derived from.
    pub token: Vec<u8>,
    /// base64url of the token: the address segment that identifies the connection.
    pub address_suffix: String,
    pub shared_secret: SharedSecret,
}

/// A connection recognised from a packet's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingConnection {
    /// The address segment the token came in (a stable connection id).
    pub token_segment: String,
    pub shared_secret: SharedSecret,
    pub details: ConnectionDetails,
}

/// A receiver's 32-byte secret (Rafiki's `STREAM_SECRET`).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret([u8; 32]);

impl ServerSecret {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh secret from the operating system's generator, for when none is configured.
    pub fn random() -> Self {
        Self(crypto::random_bytes())
    }

    /// New credentials for one connection.
    pub fn generate_credentials(
        &self,
        details: &ConnectionDetails,
    ) -> Result<Credentials, CredentialsError> {
        let tag = &details.connection_tag;
        if tag.len() > MAX_CONNECTION_TAG_LENGTH {
            return Err(CredentialsError::TagTooLong(tag.len()));
        }
        let (receipt_nonce, receipt_secret): (&[u8], &[u8]) = match &details.receipt {
            Some(receipt) => (&receipt.nonce, &receipt.secret),
            None => (&[], &[]),
        };
        let mut plaintext = Vec::with_capacity(
            TOKEN_NONCE_LENGTH
                + oer::var_octets_size(tag.len())
                + oer::var_octets_size(receipt_nonce.len())
                + oer::var_octets_size(receipt_secret.len()),
        );
        plaintext.extend_from_slice(&crypto::random_bytes::<TOKEN_NONCE_LENGTH>());
        oer::write_var_octets(&mut plaintext, tag);
        oer::write_var_octets(&mut plaintext, receipt_nonce);
        oer::write_var_octets(&mut plaintext, receipt_secret);
        let token = crypto::encrypt(&self.0, &plaintext);
        Ok(Credentials {
            address_suffix: URL_SAFE_NO_PAD.encode(&token),
            shared_secret: self.shared_secret_for(&token),
            token,
        })
    }

    /// The shared secret of the connection a token names. Only derives: it does not check that
    /// this server made the token (see [`open_token`](Self::open_token)).
    pub fn shared_secret_for(&self, token: &[u8]) -> SharedSecret {
        let generator = hmac_sha256(&self.0, SHARED_SECRET_GENERATION_STRING);
        SharedSecret::new(hmac_sha256(&generator, token))
    }

    /// Authenticates a token as this server's and reads the details it carries.
    pub fn open_token(&self, token: &[u8]) -> Result<ConnectionDetails, TokenError> {
        let plaintext = crypto::decrypt(&self.0, token)?;
        let mut reader = Reader::new(&plaintext);
        let malformed = |_| TokenError::Malformed;
        reader.read_bytes(TOKEN_NONCE_LENGTH).map_err(malformed)?;
        let connection_tag = reader.read_var_octets().map_err(malformed)?.to_vec();
        let nonce = reader.read_var_octets().map_err(malformed)?;
        let secret = reader.read_var_octets().map_err(malformed)?;
        let receipt = match (nonce.len(), secret.len()) {
            (0, 0) => None,
            (RECEIPT_NONCE_LENGTH, RECEIPT_SECRET_LENGTH) => Some(ReceiptSecrets {
                nonce: nonce.try_into().map_err(|_| TokenError::Malformed)?,
                secret: secret.try_into().map_err(|_| TokenError::Malformed)?,
            }),
            _ => return Err(TokenError::Malformed),
        };
        Ok(ConnectionDetails {
            connection_tag,
            receipt,
        })
    }

    /// Recognises the connection a Prepare for `destination` belongs to, where `receiver` is the
    /// address this secret's connections live under.
    pub fn connection_for(
        &self,
        receiver: &Address,
        destination: &Address,
    ) -> Result<IncomingConnection, TokenError> {
        let segment = token_segment(receiver, destination).ok_or(TokenError::NoToken)?;
        let token = decode_token_segment(segment)?;
        let details = self.open_token(&token)?;
        Ok(IncomingConnection {
            token_segment: segment.to_owned(),
            shared_secret: self.shared_secret_for(&token),
            details,
        })
    }
}

/// Secrets stay out of logs.
impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

/// The first segment of `destination` after `receiver`, if `destination` is under `receiver`.
pub fn token_segment<'a>(receiver: &Address, destination: &'a Address) -> Option<&'a str> {
    let rest = destination
        .as_str()
        .strip_prefix(receiver.as_str())?
        .strip_prefix('.')?;
    rest.split('.').next()
}

/// The token bytes of an address segment. Strict unpadded base64url: a segment that JS's lenient
/// decoder would also accept (stray trailing bits) is refused, as no token this server made has it.
pub fn decode_token_segment(segment: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> Address {
        Address::parse("test.peerlab.receiver").unwrap()
    }

    fn destination(suffix: &str) -> Address {
        receiver().with_suffix(suffix).unwrap()
    }

    #[test]
    fn credentials_are_recognised_from_the_destination_alone() {
        let secret = ServerSecret::new([1; 32]);
        let details = ConnectionDetails {
            connection_tag: b"wallet-7".to_vec(),
            receipt: Some(ReceiptSecrets {
                nonce: [2; 16],
                secret: [3; 32],
            }),
        };
        let credentials = secret.generate_credentials(&details).unwrap();
        assert_eq!(
            credentials.address_suffix,
            URL_SAFE_NO_PAD.encode(&credentials.token)
        );
        let incoming = secret
            .connection_for(&receiver(), &destination(&credentials.address_suffix))
            .unwrap();
        assert_eq!(incoming.shared_secret, credentials.shared_secret);
        assert_eq!(incoming.details, details);
        assert_eq!(incoming.token_segment, credentials.address_suffix);
    }

    #[test]
    fn segments_after_the_token_are_allowed() {
        let secret = ServerSecret::new([1; 32]);
        let credentials = secret
            .generate_credentials(&ConnectionDetails::default())
            .unwrap();
        let longer = destination(&format!("{}.extra.more", credentials.address_suffix));
        let incoming = secret.connection_for(&receiver(), &longer).unwrap();
        assert_eq!(incoming.shared_secret, credentials.shared_secret);
        assert_eq!(incoming.details, ConnectionDetails::default());
    }

    #[test]
    fn each_connection_gets_its_own_token_and_secret() {
        let secret = ServerSecret::new([1; 32]);
        let first = secret
            .generate_credentials(&ConnectionDetails::default())
            .unwrap();
        let second = secret
            .generate_credentials(&ConnectionDetails::default())
            .unwrap();
        assert_ne!(first.token, second.token);
        assert_ne!(first.shared_secret, second.shared_secret);
    }

    #[test]
    fn another_servers_token_is_not_ours() {
        let ours = ServerSecret::new([1; 32]);
        let theirs = ServerSecret::new([2; 32]);
        let credentials = theirs
            .generate_credentials(&ConnectionDetails::default())
            .unwrap();
        assert_eq!(
            ours.connection_for(&receiver(), &destination(&credentials.address_suffix)),
            Err(TokenError::NotOurs(DecryptError::Unauthentic))
        );
    }

    #[test]
    fn a_changed_token_is_not_ours() {
        let secret = ServerSecret::new([1; 32]);
        let credentials = secret
            .generate_credentials(&ConnectionDetails::default())
            .unwrap();
        let mut token = credentials.token.clone();
        token[30] ^= 0x80;
        let suffix = URL_SAFE_NO_PAD.encode(&token);
        assert_eq!(
            secret.connection_for(&receiver(), &destination(&suffix)),
            Err(TokenError::NotOurs(DecryptError::Unauthentic))
        );
    }

    #[test]
    fn destinations_without_a_usable_token_are_refused() {
        let secret = ServerSecret::new([1; 32]);
        assert_eq!(
            secret.connection_for(&receiver(), &receiver()),
            Err(TokenError::NoToken)
        );
        let sibling = Address::parse("test.peerlab.receiverx.abc").unwrap();
        assert_eq!(
            secret.connection_for(&receiver(), &sibling),
            Err(TokenError::NoToken)
        );
        // `~` is legal in an address but not in base64url.
        assert_eq!(
            secret.connection_for(&receiver(), &destination("ab~c")),
            Err(TokenError::NotBase64)
        );
        assert_eq!(
            secret.connection_for(&receiver(), &destination("abc")),
            Err(TokenError::NotOurs(DecryptError::TooShort(2)))
        );
    }

    #[test]
    fn authentic_tokens_with_bad_contents_are_malformed() {
        let secret = ServerSecret::new([1; 32]);
        let mut plaintext = vec![0u8; TOKEN_NONCE_LENGTH];
        // An empty tag, a 5-byte receipt nonce, an empty receipt secret.
        plaintext.extend_from_slice(&[0x00, 0x05, 1, 2, 3, 4, 5, 0x00]);
        let token = crypto::encrypt(&secret.0, &plaintext);
        assert_eq!(secret.open_token(&token), Err(TokenError::Malformed));
        let truncated = crypto::encrypt(&secret.0, &[0u8; TOKEN_NONCE_LENGTH]);
        assert_eq!(secret.open_token(&truncated), Err(TokenError::Malformed));
    }

    #[test]
    fn tags_have_a_length_limit() {
        let secret = ServerSecret::new([1; 32]);
        let longest = ConnectionDetails {
            connection_tag: vec![b'a'; MAX_CONNECTION_TAG_LENGTH],
            receipt: Some(ReceiptSecrets {
                nonce: [0; 16],
                secret: [0; 32],
            }),
        };
        let credentials = secret.generate_credentials(&longest).unwrap();
        assert!(destination(&credentials.address_suffix).as_str().len() < 1023);
        let too_long = ConnectionDetails {
            connection_tag: vec![b'a'; MAX_CONNECTION_TAG_LENGTH + 1],
            receipt: None,
        };
        assert_eq!(
            secret.generate_credentials(&too_long),
            Err(CredentialsError::TagTooLong(MAX_CONNECTION_TAG_LENGTH + 1))
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(
            format!("{:?}", ServerSecret::new([7; 32])),
            "ServerSecret(..)"
        );
        let receipt = ReceiptSecrets {
            nonce: [0; 16],
            secret: [0xab; 32],
        };
        assert!(!format!("{receipt:?}").contains("abab"));
    }
}
