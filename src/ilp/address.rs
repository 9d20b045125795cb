//! ILP addresses (RFC 0015 "ILP Addresses - v2.0.0").

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Longest address RFC 0015 allows.
pub const MAX_ADDRESS_LENGTH: usize = 1023;

/// Why a string is not an ILP address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("ILP address is empty")]
    Empty,
    #[error("ILP address is {0} bytes long; at most 1023 are allowed")]
    TooLong(usize),
    #[error("ILP address has unknown allocation scheme {0:?}")]
    UnknownScheme(String),
    #[error("ILP address needs at least one segment after its scheme")]
    NoSegments,
    #[error("ILP address has an empty segment")]
    EmptySegment,
    #[error("ILP address contains {0:?}, which is not allowed (only A-Z a-z 0-9 _ ~ -)")]
    InvalidCharacter(char),
    #[error("ILP address is not valid UTF-8")]
    NotUtf8,
}

/// The allocation scheme: an address's first segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `g`: the global network.
    Global,
    Private,
    Example,
    /// `peer`: configuration between direct peers; never forwarded.
    Peer,
    SelfLoopback,
    Test,
    Test1,
    Test2,
    Test3,
    Local,
}

impl Scheme {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "g" => Self::Global,
            "private" => Self::Private,
            "example" => Self::Example,
            "peer" => Self::Peer,
            "self" => Self::SelfLoopback,
            "test" => Self::Test,
            "test1" => Self::Test1,
            "test2" => Self::Test2,
            "test3" => Self::Test3,
            "local" => Self::Local,
            _ => return None,
        })
    }
}

/// A valid ILP address, such as `test.cloud-nine-wallet`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(String);

impl Address {
    /// Validates `candidate` as an RFC 0015 address.
    pub fn parse(candidate: &str) -> Result<Self, AddressError> {
        validate(candidate)?;
        Ok(Self(candidate.to_owned()))
    }

    /// Validates raw wire bytes as an address.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddressError> {
        let text = std::str::from_utf8(bytes).map_err(|_| AddressError::NotUtf8)?;
        Self::parse(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn scheme(&self) -> Scheme {
        let first = self.segments().next().unwrap_or_default();
        // Validation guarantees a known scheme; `Local` is never reached.
        Scheme::parse(first).unwrap_or(Scheme::Local)
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// True when `prefix` matches this address on whole segments: `test.a` is a prefix of `test.a`
    /// and `test.a.b`, but not of `test.ab`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        match self.0.strip_prefix(prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('.'),
            None => false,
        }
    }

    /// This address with one more segment appended, e.g. a child's address under its parent.
    pub fn with_suffix(&self, segment: &str) -> Result<Self, AddressError> {
        Self::parse(&format!("{}.{}", self.0, segment))
    }
}

fn validate(candidate: &str) -> Result<(), AddressError> {
    if candidate.is_empty() {
        return Err(AddressError::Empty);
    }
    if candidate.len() > MAX_ADDRESS_LENGTH {
        return Err(AddressError::TooLong(candidate.len()));
    }
    let mut segments = candidate.split('.');
    let scheme = segments.next().unwrap_or_default();
    if Scheme::parse(scheme).is_none() {
        return Err(AddressError::UnknownScheme(
            scheme.chars().take(64).collect(),
        ));
    }
    let mut count = 0usize;
    for segment in segments {
        if segment.is_empty() {
            return Err(AddressError::EmptySegment);
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '~' | '-')))
        {
            return Err(AddressError::InvalidCharacter(bad));
        }
        count += 1;
    }
    if count == 0 {
        return Err(AddressError::NoSegments);
    }
    Ok(())
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc_0015_addresses() {
        for ok in [
            "g.acme.bob",
            "test.cloud-nine-wallet",
            "test3.a_b~c-d",
            "peer.config",
            "example.top.middle.lower",
            "private.x",
            "self.me",
            "local.host",
        ] {
            assert!(Address::parse(ok).is_ok(), "{ok} should be valid");
        }
        let longest = format!("g.{}", "a".repeat(MAX_ADDRESS_LENGTH - 2));
        assert!(Address::parse(&longest).is_ok());
    }

    #[test]
    fn rejects_what_rfc_0015_forbids() {
        assert_eq!(Address::parse(""), Err(AddressError::Empty));
        assert_eq!(Address::parse("g"), Err(AddressError::NoSegments));
        assert_eq!(Address::parse("peer"), Err(AddressError::NoSegments));
        assert_eq!(Address::parse("g.a."), Err(AddressError::EmptySegment));
        assert_eq!(Address::parse("g..a"), Err(AddressError::EmptySegment));
        assert_eq!(
            Address::parse("test4.a"),
            Err(AddressError::UnknownScheme("test4".into()))
        );
        assert_eq!(
            Address::parse("G.a"),
            Err(AddressError::UnknownScheme("G".into()))
        );
        assert_eq!(
            Address::parse("g.a b"),
            Err(AddressError::InvalidCharacter(' '))
        );
        assert_eq!(
            Address::parse("g.ä"),
            Err(AddressError::InvalidCharacter('ä'))
        );
        let too_long = format!("g.{}", "a".repeat(MAX_ADDRESS_LENGTH - 1));
        assert_eq!(
            Address::parse(&too_long),
            Err(AddressError::TooLong(MAX_ADDRESS_LENGTH + 1))
        );
        assert_eq!(
            Address::from_bytes(&[b'g', b'.', 0xff]),
            Err(AddressError::NotUtf8)
        );
    }

    #[test]
    fn prefixes_match_whole_segments_only() {
        let address = Address::parse("test.alice.wallet").unwrap();
        assert!(address.has_prefix("test.alice"));
        assert!(address.has_prefix("test.alice.wallet"));
        assert!(address.has_prefix("test"));
        assert!(!address.has_prefix("test.ali"));
        assert!(!address.has_prefix("test.alice.wallet.x"));
    }

    #[test]
    fn exposes_scheme_and_children() {
        let parent = Address::parse("test.parent").unwrap();
        assert_eq!(parent.scheme(), Scheme::Test);
        assert_eq!(
            Address::parse("peer.config").unwrap().scheme(),
            Scheme::Peer
        );
        assert_eq!(
            parent.with_suffix("child").unwrap().as_str(),
            "test.parent.child"
        );
        assert!(parent.with_suffix("bad child").is_err());
    }
}
