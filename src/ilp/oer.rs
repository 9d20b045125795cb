//! Canonical OER primitives (RFC 0030): a bounds-checked reader and a writer, including the
//! variable-length unsigned integers (VarUInt) STREAM uses.
//!
//! The reader never allocates: it hands out sub-slices of its input, and every length is checked
//! against the bytes that are actually there before anything is sliced. That is what makes decoding
//! arbitrary input safe from panics and from unbounded allocation.

use thiserror::Error;

/// A malformed OER encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum OerError {
    #[error("unexpected end of input: needed {needed} more bytes, {available} available")]
    UnexpectedEnd { needed: usize, available: usize },
    #[error("length prefix is not canonical")]
    NonCanonicalLength,
    #[error("length prefix uses the indefinite form")]
    IndefiniteLength,
    #[error("length prefix has {0} length bytes; at most 8 are allowed")]
    LengthTooLong(u8),
    #[error("variable-length integer has no bytes")]
    EmptyVarUInt,
    #[error("variable-length integer is larger than 64 bits")]
    VarUIntTooLarge,
}

/// Reads OER values from a byte slice, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    pub fn read_bytes(&mut self, len: usize) -> Result<&'a [u8], OerError> {
        if len > self.buf.len() {
            return Err(OerError::UnexpectedEnd {
                needed: len,
                available: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], OerError> {
        let bytes = self.read_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn read_u8(&mut self) -> Result<u8, OerError> {
        Ok(self.read_array::<1>()?[0])
    }

    pub fn read_u64(&mut self) -> Result<u64, OerError> {
        Ok(u64::from_be_bytes(self.read_array::<8>()?))
    }

    /// Reads a length determinant, rejecting every non-canonical form as both reference
    /// implementations do (leading zeros, long form for a length below 128, indefinite form).
    pub fn read_length(&mut self) -> Result<usize, OerError> {
        let first = self.read_u8()?;
        if first & 0x80 == 0 {
            return Ok(usize::from(first));
        }
        let length_of_length = first & 0x7f;
        if length_of_length == 0 {
            return Err(OerError::IndefiniteLength);
        }
        if length_of_length > 8 {
            return Err(OerError::LengthTooLong(length_of_length));
        }
        let bytes = self.read_bytes(usize::from(length_of_length))?;
        if bytes[0] == 0 {
            return Err(OerError::NonCanonicalLength);
        }
        let length = bytes
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        if length < 128 {
            return Err(OerError::NonCanonicalLength);
        }
        // A length that does not fit in usize cannot be backed by the input anyway.
        usize::try_from(length).map_err(|_| OerError::UnexpectedEnd {
            needed: usize::MAX,
            available: self.buf.len(),
        })
    }

    /// Reads a length-prefixed octet string as a sub-slice of the input.
    pub fn read_var_octets(&mut self) -> Result<&'a [u8], OerError> {
        let len = self.read_length()?;
        self.read_bytes(len)
    }

    /// Reads a VarUInt: a length-prefixed big-endian unsigned integer. Leading zero bytes are
    /// accepted (RFC 0030 lets decoders accept non-canonical forms, and oer-utils does); a value
    /// above `u64::MAX` is [`OerError::VarUIntTooLarge`].
    pub fn read_var_uint(&mut self) -> Result<u64, OerError> {
        self.read_var_uint_saturating()?
            .ok_or(OerError::VarUIntTooLarge)
    }

    /// Reads a VarUInt whose value may exceed 64 bits: `None` when it does. For the fields where
    /// STREAM lets a receiver clamp such a value to `u64::MAX` (RFC 0029 §5.1.4).
    pub fn read_var_uint_saturating(&mut self) -> Result<Option<u64>, OerError> {
        let bytes = self.read_var_octets()?;
        if bytes.is_empty() {
            return Err(OerError::EmptyVarUInt);
        }
        let leading_zeros = bytes.iter().take_while(|byte| **byte == 0).count();
        let significant = &bytes[leading_zeros..];
        if significant.len() > 8 {
            return Ok(None);
        }
        Ok(Some(
            significant
                .iter()
                .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)),
        ))
    }
}

/// Number of bytes the length determinant for `len` takes.
pub fn length_prefix_size(len: usize) -> usize {
    if len < 128 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// Number of bytes a var-octet-string of `len` content bytes takes.
pub fn var_octets_size(len: usize) -> usize {
    length_prefix_size(len) + len
}

/// Appends the canonical length determinant for `len`.
pub fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 128 {
        // Fits in the short form: the cast cannot truncate.
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends a var-octet-string.
pub fn write_var_octets(out: &mut Vec<u8>, bytes: &[u8]) {
    write_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Number of content bytes of the canonical VarUInt for `value`: minimal, but at least one
/// (zero is `01 00`).
fn var_uint_content_len(value: u64) -> usize {
    (value.checked_ilog2().unwrap_or(0) / 8 + 1) as usize
}

/// Number of bytes the canonical VarUInt for `value` takes, prefix included.
pub fn var_uint_size(value: u64) -> usize {
    1 + var_uint_content_len(value)
}

/// Appends the canonical VarUInt for `value`.
pub fn write_var_uint(out: &mut Vec<u8>, value: u64) {
    let len = var_uint_content_len(value);
    // At most 8 content bytes: the short-form prefix always suffices.
    out.push(len as u8);
    out.extend_from_slice(&value.to_be_bytes()[8 - len..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_length(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write_length(&mut out, len);
        out
    }

    #[test]
    fn length_determinants_match_rfc_0030_examples() {
        let cases: [(usize, &[u8]); 4] = [
            (7, &[0x07]),
            (130, &[0x81, 0x82]),
            (4660, &[0x82, 0x12, 0x34]),
            (11_259_375, &[0x83, 0xab, 0xcd, 0xef]),
        ];
        for (len, bytes) in cases {
            assert_eq!(encode_length(len), bytes, "encoding {len}");
            assert_eq!(length_prefix_size(len), bytes.len());
            assert_eq!(Reader::new(bytes).read_length(), Ok(len), "decoding {len}");
        }
    }

    #[test]
    fn eight_byte_length_decodes_when_it_fits_usize() {
        let bytes = [0x88, 0xac, 0x01, 0x05, 0x5a, 0x1d, 0xeb, 0xac, 0x1e];
        assert_eq!(
            Reader::new(&bytes).read_length(),
            Ok(12_394_193_534_107_495_454)
        );
    }

    #[test]
    fn non_canonical_lengths_are_rejected() {
        assert_eq!(
            Reader::new(&[0x81, 0x05]).read_length(),
            Err(OerError::NonCanonicalLength)
        );
        assert_eq!(
            Reader::new(&[0x82, 0x00, 0x85]).read_length(),
            Err(OerError::NonCanonicalLength)
        );
        assert_eq!(
            Reader::new(&[0x80]).read_length(),
            Err(OerError::IndefiniteLength)
        );
        assert_eq!(
            Reader::new(&[0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]).read_length(),
            Err(OerError::LengthTooLong(9))
        );
    }

    fn encode_var_uint(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_var_uint(&mut out, value);
        out
    }

    #[test]
    fn var_uints_are_minimal_and_round_trip() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x01, 0x00]),
            (255, &[0x01, 0xff]),
            (256, &[0x02, 0x01, 0x00]),
            (16_384, &[0x02, 0x40, 0x00]),
            (
                (1 << 53) - 1,
                &[0x07, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                u64::MAX,
                &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (value, bytes) in cases {
            assert_eq!(encode_var_uint(value), bytes, "encoding {value}");
            assert_eq!(var_uint_size(value), bytes.len());
            assert_eq!(
                Reader::new(bytes).read_var_uint(),
                Ok(value),
                "decoding {value}"
            );
        }
    }

    #[test]
    fn var_uints_above_64_bits_are_too_large_or_saturate() {
        let two_to_the_64 = [0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Reader::new(&two_to_the_64).read_var_uint(),
            Err(OerError::VarUIntTooLarge)
        );
        assert_eq!(
            Reader::new(&two_to_the_64).read_var_uint_saturating(),
            Ok(None)
        );
        // Leading zeros are not significant: nine bytes can still hold a 64-bit value.
        let padded = [0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Reader::new(&padded).read_var_uint(), Ok(u64::MAX));
        assert_eq!(Reader::new(&[0x02, 0x00, 0x05]).read_var_uint(), Ok(5));
        assert_eq!(
            Reader::new(&[0x00]).read_var_uint(),
            Err(OerError::EmptyVarUInt)
        );
        assert!(matches!(
            Reader::new(&[0x03, 0x01]).read_var_uint(),
            Err(OerError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn a_length_beyond_the_input_is_an_error_not_an_allocation() {
        let mut reader = Reader::new(&[0x84, 0x7f, 0xff, 0xff, 0xff, 0x00]);
        assert!(matches!(
            reader.read_var_octets(),
            Err(OerError::UnexpectedEnd { .. })
        ));
    }
}
