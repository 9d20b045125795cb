//! STREAM's cryptography: key derivation, fulfillments and the AES-256-GCM envelope that carries
//! every STREAM packet in the ILP `data` field (RFC 0029 §5.1 and §6).
//!
//! Envelope layout, exactly as interledgerjs and interledger-rs write it:
//! `nonce (12 bytes) || authentication tag (16 bytes) || ciphertext`, no associated data.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use thiserror::Error;

use crate::ilp::condition_for;

/// Length of the random AES-GCM nonce at the front of the envelope.
pub const NONCE_LENGTH: usize = 12;
/// Length of the AES-GCM authentication tag that follows the nonce.
pub const TAG_LENGTH: usize = 16;
/// Bytes the envelope adds to a plaintext (JS `ENCRYPTION_OVERHEAD`).
pub const ENCRYPTION_OVERHEAD: usize = NONCE_LENGTH + TAG_LENGTH;

const ENCRYPTION_KEY_STRING: &[u8] = b"ilp_stream_encryption";
const FULFILLMENT_KEY_STRING: &[u8] = b"ilp_stream_fulfillment";

type HmacSha256 = Hmac<Sha256>;

/// Why encrypted bytes could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecryptError {
    #[error("encrypted data is {0} bytes; the nonce and tag alone take 28")]
    TooShort(usize),
    /// The tag does not match: a different key, or bytes changed on the way.
    #[error("encrypted data does not authenticate under this key")]
    Unauthentic,
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The AES-256-GCM key for a shared secret: HMAC(shared secret, "ilp_stream_encryption").
/// Takes any length, as interledgerjs does; SPSP secrets are 32 bytes.
pub fn encryption_key(shared_secret: &[u8]) -> [u8; 32] {
    hmac_sha256(shared_secret, ENCRYPTION_KEY_STRING)
}

/// The key fulfillments derive from: HMAC(shared secret, "ilp_stream_fulfillment").
pub fn fulfillment_key(shared_secret: &[u8]) -> [u8; 32] {
    hmac_sha256(shared_secret, FULFILLMENT_KEY_STRING)
}

/// The fulfillment of a Prepare carrying `data` (its whole, encrypted ILP data field):
/// HMAC(fulfillment key, data). Its condition is [`condition_for`] of it.
pub fn fulfillment(fulfillment_key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    hmac_sha256(fulfillment_key, data)
}

/// Seals `plaintext` under `key` with a fresh random nonce.
pub fn encrypt(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    encrypt_with_nonce(key, random_bytes(), plaintext)
}

/// Seals `plaintext` under `key` with the given nonce. A nonce must never be used twice with one
/// key: outside tests, use [`encrypt`].
pub fn encrypt_with_nonce(key: &[u8; 32], nonce: [u8; NONCE_LENGTH], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCRYPTION_OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&[0; TAG_LENGTH]);
    out.extend_from_slice(plaintext);
    let cipher = Aes256Gcm::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            &[],
            &mut out[ENCRYPTION_OVERHEAD..],
        )
        // AES-GCM refuses only plaintexts of 64 GiB and more, which no caller can hold.
        .unwrap_or_else(|_| unreachable!("plaintext too long for AES-GCM"));
    out[NONCE_LENGTH..ENCRYPTION_OVERHEAD].copy_from_slice(&tag);
    out
}

/// Opens an envelope sealed under `key`. Any input is safe: too short or not authentic is an
/// error, never a panic.
pub fn decrypt(key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if data.len() < ENCRYPTION_OVERHEAD {
        return Err(DecryptError::TooShort(data.len()));
    }
    let (nonce, rest) = data.split_at(NONCE_LENGTH);
    let (tag, ciphertext) = rest.split_at(TAG_LENGTH);
    let mut plaintext = ciphertext.to_vec();
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            &[],
            &mut plaintext,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptError::Unauthentic)?;
    Ok(plaintext)
}

/// A random condition no one can fulfill: what senders put on probe packets (RFC 0029 §6).
pub fn random_condition() -> [u8; 32] {
    random_bytes()
}

/// Random bytes ([`crate::entropy`]: the operating system's, or a simulation's seed).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    crate::entropy::bytes()
}

/// The 32-byte secret both ends of a STREAM connection hold (SPSP `shared_secret`). Everything
/// one packet needs is derived from it: the encryption key, fulfillments and conditions.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret([u8; 32]);

/// Shared secrets are not 32 bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a shared secret is 32 bytes, not {0}")]
pub struct SharedSecretLengthError(pub usize);

impl SharedSecret {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A shared secret from bytes of unchecked length, such as a decoded SPSP response.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SharedSecretLengthError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| SharedSecretLengthError(bytes.len()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn encryption_key(&self) -> [u8; 32] {
        encryption_key(&self.0)
    }

    pub fn fulfillment_key(&self) -> [u8; 32] {
        fulfillment_key(&self.0)
    }

    /// The fulfillment for a Prepare whose ILP data field is `data`.
    pub fn fulfillment(&self, data: &[u8]) -> [u8; 32] {
        fulfillment(&self.fulfillment_key(), data)
    }

    /// The condition a fulfillable Prepare carrying `data` must have: SHA-256 of its fulfillment.
    pub fn condition(&self, data: &[u8]) -> [u8; 32] {
        condition_for(&self.fulfillment(data))
    }

    /// Seals `plaintext` under this secret's encryption key with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        encrypt(&self.encryption_key(), plaintext)
    }

    /// Seals with a given nonce, for test vectors; see [`encrypt_with_nonce`].
    pub fn encrypt_with_nonce(&self, nonce: [u8; NONCE_LENGTH], plaintext: &[u8]) -> Vec<u8> {
        encrypt_with_nonce(&self.encryption_key(), nonce, plaintext)
    }

    /// Opens data sealed under this secret's encryption key.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, DecryptError> {
        decrypt(&self.encryption_key(), data)
    }
}

/// Secrets stay out of logs.
impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [9; 32];

    #[test]
    fn the_envelope_is_nonce_then_tag_then_ciphertext() {
        let sealed = encrypt_with_nonce(&KEY, [1; NONCE_LENGTH], b"hello");
        assert_eq!(sealed.len(), ENCRYPTION_OVERHEAD + 5);
        assert_eq!(&sealed[..NONCE_LENGTH], &[1; NONCE_LENGTH]);
        assert_eq!(decrypt(&KEY, &sealed), Ok(b"hello".to_vec()));
    }

    #[test]
    fn random_nonces_differ_and_both_open() {
        let first = encrypt(&KEY, b"same");
        let second = encrypt(&KEY, b"same");
        assert_ne!(first[..NONCE_LENGTH], second[..NONCE_LENGTH]);
        assert_eq!(decrypt(&KEY, &first), Ok(b"same".to_vec()));
        assert_eq!(decrypt(&KEY, &second), Ok(b"same".to_vec()));
    }

    #[test]
    fn an_empty_plaintext_seals_to_exactly_the_overhead() {
        let sealed = encrypt(&KEY, b"");
        assert_eq!(sealed.len(), ENCRYPTION_OVERHEAD);
        assert_eq!(decrypt(&KEY, &sealed), Ok(Vec::new()));
    }

    #[test]
    fn every_length_below_the_overhead_is_too_short() {
        let sealed = encrypt(&KEY, b"");
        for len in 0..ENCRYPTION_OVERHEAD {
            assert_eq!(
                decrypt(&KEY, &sealed[..len]),
                Err(DecryptError::TooShort(len))
            );
        }
    }

    #[test]
    fn every_flipped_bit_fails_authentication() {
        let sealed = encrypt(&KEY, b"pay 100");
        for index in 0..sealed.len() {
            for bit in 0..8 {
                let mut tampered = sealed.clone();
                tampered[index] ^= 1 << bit;
                assert_eq!(
                    decrypt(&KEY, &tampered),
                    Err(DecryptError::Unauthentic),
                    "byte {index} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn a_truncated_or_extended_envelope_fails_authentication() {
        let sealed = encrypt(&KEY, b"pay 100");
        assert_eq!(
            decrypt(&KEY, &sealed[..sealed.len() - 1]),
            Err(DecryptError::Unauthentic)
        );
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(decrypt(&KEY, &longer), Err(DecryptError::Unauthentic));
    }

    #[test]
    fn a_wrong_secret_fails_authentication() {
        let right = SharedSecret::new([1; 32]);
        let wrong = SharedSecret::new([2; 32]);
        let sealed = right.encrypt(b"for right only");
        assert_eq!(right.decrypt(&sealed), Ok(b"for right only".to_vec()));
        assert_eq!(wrong.decrypt(&sealed), Err(DecryptError::Unauthentic));
    }

    #[test]
    fn conditions_are_sha256_of_fulfillments_and_depend_on_the_data() {
        let secret = SharedSecret::new([3; 32]);
        let fulfillment = secret.fulfillment(b"data");
        assert_eq!(secret.condition(b"data"), condition_for(&fulfillment));
        assert_ne!(secret.fulfillment(b"datb"), fulfillment);
        assert_ne!(SharedSecret::new([4; 32]).fulfillment(b"data"), fulfillment);
    }

    #[test]
    fn shared_secrets_are_32_bytes_and_never_printed() {
        assert_eq!(
            SharedSecret::from_slice(&[0; 31]),
            Err(SharedSecretLengthError(31))
        );
        let secret = SharedSecret::from_slice(&[0xab; 32]).unwrap();
        assert_eq!(format!("{secret:?}"), "SharedSecret(..)");
    }
}
