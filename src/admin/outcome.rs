//! The one place where what the services refuse becomes what a client reads, in both of Rafiki's
//! dialects: every service error maps to a [`Refusal`], which carries the seed era's payload
//! fields (`code`, an HTTP-like status as a string, `message`, and for liquidity the `error`
//! enum) and today's GraphQL error (a message and `extensions.code`). The resolvers only choose
//! which of the two to render (`super::dialect`).

use async_graphql::{Enum, ErrorExtensions};
use thiserror::Error;

use super::idempotency::IdempotencyError;
use crate::autopeer::AutoPeeringError;
use crate::instance::IncomingPaymentError;
use crate::instance::OutgoingPaymentError;
use crate::instance::{AssetError, LiquidityError, PaginationError, PeerError, WalletAddressError};
use crate::payments::outgoing::FromIncomingError;
use crate::payments::quotes::QuoteError;
use crate::payments::receiver::{ReceiverError, RemoteIncomingPaymentError};

/// Rafiki's `LiquidityError` enum, with the values peerlab adds for refusals Rafiki's old API could
/// not express (an expired withdrawal, a bad timeout, a balance beyond UInt64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "LiquidityError", rename_items = "PascalCase")]
pub enum LiquidityErrorCode {
    AlreadyPosted,
    AlreadyVoided,
    AmountZero,
    InsufficientBalance,
    InvalidId,
    TransferExists,
    UnknownAsset,
    UnknownIncomingPayment,
    UnknownOutgoingPayment,
    UnknownPayment,
    UnknownWalletAddress,
    UnknownPeer,
    UnknownTransfer,
    TransferExpired,
    InvalidTimeout,
    BalanceOverflow,
}

/// Today's `extensions.code` values (Rafiki's `GraphQLErrorCode`, reference/rafiki.md §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    Duplicate,
    Forbidden,
    InternalServerError,
    NotFound,
    Conflict,
    Inactive,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Duplicate => "DUPLICATE",
            Self::Forbidden => "FORBIDDEN",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::Inactive => "INACTIVE",
        }
    }
}

/// A GraphQL error with today's `extensions.code`.
pub fn graphql_error(message: impl Into<String>, code: ErrorCode) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", code.as_str());
    })
}

/// The common fields of every mutation payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: &'static str,
    pub success: bool,
    pub message: String,
    pub liquidity_error: Option<LiquidityErrorCode>,
}

impl Outcome {
    pub fn ok(message: &str) -> Self {
        Self {
            code: "200",
            success: true,
            message: message.to_owned(),
            liquidity_error: None,
        }
    }
}

/// A mutation (or lookup) refused, as each dialect reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The seed era's payload `code`: `"400"`, `"404"`, `"409"`...
    pub seed_code: &'static str,
    pub seed_message: String,
    /// Today's `extensions.code`.
    pub v2_code: ErrorCode,
    pub v2_message: String,
    /// The seed era's `error` field of liquidity payloads.
    pub liquidity_error: Option<LiquidityErrorCode>,
}

impl Refusal {
    fn new(
        (seed_code, seed_message): (&'static str, impl Into<String>),
        (v2_code, v2_message): (ErrorCode, impl Into<String>),
    ) -> Self {
        Self {
            seed_code,
            seed_message: seed_message.into(),
            v2_code,
            v2_message: v2_message.into(),
            liquidity_error: None,
        }
    }

    /// The same message in both dialects.
    fn same_message(seed_code: &'static str, v2_code: ErrorCode, message: String) -> Self {
        Self::new((seed_code, message.clone()), (v2_code, message))
    }

    /// A lookup that found nothing, in Rafiki's words for it (`payment does not exist`,
    /// `receiver does not exist`): NOT_FOUND.
    pub fn lookup_not_found(message: &str) -> Self {
        Self::same_message("404", ErrorCode::NotFound, message.to_owned())
    }

    /// The seed era's payload fields.
    pub fn seed_outcome(&self) -> Outcome {
        Outcome {
            code: self.seed_code,
            success: false,
            message: self.seed_message.clone(),
            liquidity_error: self.liquidity_error,
        }
    }

    /// Today's GraphQL error.
    pub fn v2_error(&self) -> async_graphql::Error {
        graphql_error(self.v2_message.clone(), self.v2_code)
    }

    /// `depositPeerLiquidity` / `addPeerLiquidity`: Rafiki's resolver looks the peer up through
    /// the peer service, so an unknown peer is the PeerError's lower-case `unknown peer` there,
    /// where `createPeerLiquidityWithdrawal` says `Unknown peer` (reference/rafiki.md §1.4).
    pub fn peer_deposit(error: LiquidityError) -> Self {
        match error {
            LiquidityError::UnknownPeer => Self {
                v2_message: PeerError::UnknownPeer.to_string(),
                ..Self::from(error)
            },
            _ => Self::from(error),
        }
    }

    /// `updateWalletAddress`: Rafiki's resolver looks the wallet address up itself before the
    /// service runs and throws its own capitalised `Unknown wallet address`, where every other
    /// wallet address operation says the WalletAddressError's `unknown wallet address`.
    pub fn wallet_address_update(error: WalletAddressError) -> Self {
        match error {
            WalletAddressError::UnknownWalletAddress => Self {
                v2_message: "Unknown wallet address".to_owned(),
                ..Self::from(error)
            },
            _ => Self::from(error),
        }
    }
}

impl From<AssetError> for Refusal {
    fn from(error: AssetError) -> Self {
        use ErrorCode as C;
        let seed = error.to_string();
        match error {
            // Rafiki's AssetError says `Asset not found`; the seed era said `Unknown asset`.
            AssetError::UnknownAsset => Self::new(("404", seed), (C::NotFound, "Asset not found")),
            AssetError::DuplicateAsset => Self::same_message("409", C::Duplicate, seed),
            AssetError::CannotDeleteInUseAsset => Self::same_message("403", C::Forbidden, seed),
            AssetError::InvalidCode => Self::same_message("400", C::BadUserInput, seed),
            AssetError::Internal(_) => Self::same_message("500", C::InternalServerError, seed),
        }
    }
}

impl From<PeerError> for Refusal {
    fn from(error: PeerError) -> Self {
        use ErrorCode as C;
        let (seed_code, v2_code) = match error {
            PeerError::DuplicateIncomingToken | PeerError::DuplicatePeer => ("409", C::Duplicate),
            PeerError::UnknownPeer => ("404", C::NotFound),
            // The seed era answered 400 for an unknown asset here; today it is NOT_FOUND.
            PeerError::UnknownAsset => ("400", C::NotFound),
            PeerError::InvalidStaticIlpAddress
            | PeerError::InvalidHttpEndpoint
            | PeerError::InvalidInitialLiquidity => ("400", C::BadUserInput),
            // peerlab's own refusals of input Rafiki accepts.
            PeerError::ReservedStaticIlpAddress
            | PeerError::InvalidRoute
            | PeerError::InvalidToken
            | PeerError::NameTooLong
            | PeerError::InvalidName => ("400", C::BadUserInput),
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<LiquidityError> for Refusal {
    fn from(error: LiquidityError) -> Self {
        use ErrorCode as C;
        use LiquidityErrorCode as E;
        // The seed era's wording is the error's own; today's is Rafiki's TransferError and
        // LiquidityError maps (reference/rafiki.md §1.5).
        let (seed_code, enum_value, v2_code, v2_message) = match error {
            LiquidityError::AlreadyPosted => (
                "409",
                Some(E::AlreadyPosted),
                C::Conflict,
                "Transfer already posted",
            ),
            LiquidityError::AlreadyVoided => (
                "409",
                Some(E::AlreadyVoided),
                C::Conflict,
                "Transfer already voided",
            ),
            LiquidityError::TransferExpired => (
                "403",
                Some(E::TransferExpired),
                C::Forbidden,
                "Transfer already expired",
            ),
            LiquidityError::AmountZero => (
                "400",
                Some(E::AmountZero),
                C::Forbidden,
                "Transfer amount is zero",
            ),
            LiquidityError::InsufficientBalance => (
                "403",
                Some(E::InsufficientBalance),
                C::Forbidden,
                "Insufficient transfer balance",
            ),
            LiquidityError::InvalidId => (
                "400",
                Some(E::InvalidId),
                C::BadUserInput,
                "Invalid transfer id",
            ),
            LiquidityError::TransferExists => (
                "409",
                Some(E::TransferExists),
                C::Duplicate,
                "Transfer already exists",
            ),
            LiquidityError::UnknownAsset => {
                ("404", Some(E::UnknownAsset), C::NotFound, "Unknown asset")
            }
            LiquidityError::UnknownPeer => {
                ("404", Some(E::UnknownPeer), C::NotFound, "Unknown peer")
            }
            LiquidityError::UnknownWalletAddress => (
                "404",
                Some(E::UnknownWalletAddress),
                C::NotFound,
                "Unknown wallet address",
            ),
            LiquidityError::UnknownIncomingPayment => (
                "404",
                Some(E::UnknownIncomingPayment),
                C::NotFound,
                "Unknown incoming payment",
            ),
            LiquidityError::UnknownOutgoingPayment => (
                "404",
                Some(E::UnknownOutgoingPayment),
                C::NotFound,
                "Unknown outgoing payment",
            ),
            LiquidityError::UnknownTransfer => (
                "404",
                Some(E::UnknownTransfer),
                C::NotFound,
                "Unknown transfer",
            ),
            LiquidityError::InvalidTimeout => (
                "400",
                Some(E::InvalidTimeout),
                C::BadUserInput,
                "Invalid transfer timeout provided",
            ),
            // peerlab's own: Rafiki's ledgers have no such limit to meet. A balance, so FORBIDDEN
            // as Rafiki's balance refusals are.
            LiquidityError::BalanceOverflow => (
                "400",
                Some(E::BalanceOverflow),
                C::Forbidden,
                "Balance would exceed the largest UInt64",
            ),
            LiquidityError::Internal(_) => {
                return Self::same_message("500", C::InternalServerError, error.to_string());
            }
        };
        Self {
            liquidity_error: enum_value,
            ..Self::new((seed_code, error.to_string()), (v2_code, v2_message))
        }
    }
}

impl From<WalletAddressError> for Refusal {
    fn from(error: WalletAddressError) -> Self {
        use ErrorCode as C;
        // Rafiki's wallet address errorToCode; wallet addresses have no seed era, so its payloads
        // carry the same messages with HTTP-like codes.
        let (seed_code, v2_code) = match error {
            WalletAddressError::InvalidUrl | WalletAddressError::UnknownAsset => {
                ("400", C::BadUserInput)
            }
            WalletAddressError::UnknownWalletAddress => ("404", C::NotFound),
            WalletAddressError::DuplicateWalletAddress => ("409", C::Duplicate),
            // peerlab's own refusals of text Rafiki accepts.
            WalletAddressError::PublicNameTooLong
            | WalletAddressError::InvalidText
            | WalletAddressError::InvalidProperties => ("400", C::BadUserInput),
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<ReceiverError> for Refusal {
    fn from(error: ReceiverError) -> Self {
        use ErrorCode as C;
        use IncomingPaymentError as I;
        use RemoteIncomingPaymentError as R;
        // Rafiki's incoming payment and remote incoming payment errorToCode; the seed era's
        // payload `code` was its errorToHTTPCode.
        let (seed_code, v2_code) = match &error {
            ReceiverError::Local(I::UnknownWalletAddress | I::UnknownPayment) => {
                ("404", C::NotFound)
            }
            ReceiverError::Local(I::InactiveWalletAddress) => ("400", C::Inactive),
            ReceiverError::Local(I::InvalidAmount | I::InvalidExpiry | I::MetadataTooLarge) => {
                ("400", C::BadUserInput)
            }
            // peerlab's own bound: the instance is full, not the client's mistake.
            ReceiverError::Local(I::TooManyIncomingPayments) => ("503", C::InternalServerError),
            ReceiverError::Remote(R::NotFound | R::UnknownWalletAddress) => ("404", C::NotFound),
            ReceiverError::Remote(R::InvalidRequest) => ("500", C::BadUserInput),
            ReceiverError::InvalidInput(_) => ("400", C::BadUserInput),
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<QuoteError> for Refusal {
    fn from(error: QuoteError) -> Self {
        use ErrorCode as C;
        // Rafiki's quote errorToCode; payloads carry its errorToHTTPCode.
        let (seed_code, v2_code) = match &error {
            QuoteError::UnknownWalletAddress => ("404", C::NotFound),
            QuoteError::InactiveWalletAddress => ("400", C::Inactive),
            QuoteError::InvalidAmount
            | QuoteError::InvalidReceiver
            | QuoteError::NonPositiveReceiveAmount => ("400", C::BadUserInput),
            // Rafiki's ILP quoting error escapes its resolver: Apollo's INTERNAL_SERVER_ERROR.
            QuoteError::QuotingFailed(_) => ("500", C::InternalServerError),
            // peerlab's own bound: the instance is full, not the client's mistake.
            QuoteError::Store(_) => ("503", C::InternalServerError),
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<OutgoingPaymentError> for Refusal {
    fn from(error: OutgoingPaymentError) -> Self {
        use ErrorCode as C;
        use OutgoingPaymentError as O;
        // Rafiki's outgoing payment errorToCode (and, for funding, its transfer errors); payloads
        // carry its errorToHTTPCode.
        let (seed_code, v2_code) = match &error {
            O::UnknownWalletAddress | O::UnknownPayment | O::UnknownQuote => ("404", C::NotFound),
            O::WrongState => ("409", C::Conflict),
            O::InvalidQuote | O::InvalidAmount | O::MetadataTooLarge => ("400", C::BadUserInput),
            O::InactiveWalletAddress => ("400", C::Inactive),
            O::TooManyOutgoingPayments => ("503", C::InternalServerError),
            O::Transfer(error) => return Self::from(*error),
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<FromIncomingError> for Refusal {
    fn from(error: FromIncomingError) -> Self {
        match error {
            FromIncomingError::Quote(error) => error.into(),
            FromIncomingError::Payment(error) => error.into(),
        }
    }
}

impl From<AutoPeeringError> for Refusal {
    fn from(error: AutoPeeringError) -> Self {
        use ErrorCode as C;
        let seed_code = if error.status() == 404 { "404" } else { "400" };
        // Rafiki's AutoPeeringError code map (reference/rafiki.md §3).
        let v2_code = match error {
            AutoPeeringError::InvalidIlpConfiguration
            | AutoPeeringError::PeerUnsupportedAsset
            | AutoPeeringError::InvalidPeeringRequest => C::BadUserInput,
            AutoPeeringError::InvalidPeerIlpConfiguration | AutoPeeringError::LiquidityError => {
                C::InternalServerError
            }
            AutoPeeringError::UnknownAsset | AutoPeeringError::InvalidPeerUrl => C::NotFound,
        };
        Self::same_message(seed_code, v2_code, error.to_string())
    }
}

impl From<IdempotencyError> for Refusal {
    fn from(error: IdempotencyError) -> Self {
        match error {
            // Rafiki's middleware throws this without a code, which Apollo reports as
            // INTERNAL_SERVER_ERROR.
            IdempotencyError::KeyReused(_) => {
                Self::same_message("409", ErrorCode::InternalServerError, error.to_string())
            }
            IdempotencyError::KeyTooLong { .. } => {
                Self::same_message("400", ErrorCode::BadUserInput, error.to_string())
            }
        }
    }
}

/// Arguments that contradict each other, refused before any service runs (peerlab's own: each
/// comes from accepting more than one era's way of saying something).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ArgumentError {
    #[error("withdrawalId and input.withdrawalId differ")]
    WithdrawalIdsDiffer,
    #[error("withdrawalId is required")]
    WithdrawalIdMissing,
    #[error(
        "liquidityToDeposit, initialLiquidity and addedLiquidity name one deposit; they differ"
    )]
    DepositsDiffer,
}

impl From<ArgumentError> for Refusal {
    fn from(error: ArgumentError) -> Self {
        Self::same_message("400", ErrorCode::BadUserInput, error.to_string())
    }
}

/// A page asked for wrongly. Rafiki throws plain errors (INTERNAL_SERVER_ERROR) with these
/// messages; they are the client's mistakes, so peerlab says BAD_USER_INPUT.
impl From<PaginationError> for Refusal {
    fn from(error: PaginationError) -> Self {
        Self::same_message("400", ErrorCode::BadUserInput, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(refusal: Refusal) -> (&'static str, String, Option<LiquidityErrorCode>) {
        let outcome = refusal.seed_outcome();
        assert!(!outcome.success);
        (outcome.code, outcome.message, outcome.liquidity_error)
    }

    fn v2(refusal: Refusal) -> (&'static str, String) {
        (refusal.v2_code.as_str(), refusal.v2_message)
    }

    #[test]
    fn seed_era_messages_and_codes() {
        assert_eq!(
            seed(LiquidityError::UnknownPeer.into()),
            (
                "404",
                "Unknown peer".into(),
                Some(LiquidityErrorCode::UnknownPeer)
            )
        );
        assert_eq!(
            seed(LiquidityError::AlreadyPosted.into()),
            (
                "409",
                "Withdrawal already posted".into(),
                Some(LiquidityErrorCode::AlreadyPosted)
            )
        );
        assert_eq!(
            seed(LiquidityError::InsufficientBalance.into()).1,
            "Insufficient balance"
        );
        assert_eq!(
            seed(PeerError::DuplicatePeer.into()),
            (
                "409",
                "duplicate peer found for same ILP address and asset".into(),
                None
            )
        );
        assert_eq!(
            seed(AssetError::DuplicateAsset.into()),
            ("409", "Asset already exists".into(), None)
        );
        // The quirk of today's deposit does not reach the seed era's payload.
        assert_eq!(
            seed(Refusal::peer_deposit(LiquidityError::UnknownPeer)).1,
            "Unknown peer"
        );
    }

    #[test]
    fn todays_messages_and_codes() {
        let cases: [(Refusal, (&str, &str)); 8] = [
            (
                LiquidityError::TransferExists.into(),
                ("DUPLICATE", "Transfer already exists"),
            ),
            (
                LiquidityError::AlreadyVoided.into(),
                ("CONFLICT", "Transfer already voided"),
            ),
            (
                LiquidityError::AmountZero.into(),
                ("FORBIDDEN", "Transfer amount is zero"),
            ),
            (
                Refusal::peer_deposit(LiquidityError::UnknownPeer),
                ("NOT_FOUND", "unknown peer"),
            ),
            (
                AssetError::UnknownAsset.into(),
                ("NOT_FOUND", "Asset not found"),
            ),
            (
                PeerError::UnknownAsset.into(),
                ("NOT_FOUND", "unknown asset"),
            ),
            (
                AutoPeeringError::InvalidPeerUrl.into(),
                (
                    "NOT_FOUND",
                    "Peer URL is invalid or peer does not support auto-peering",
                ),
            ),
            (
                IdempotencyError::KeyReused("k".into()).into(),
                (
                    "INTERNAL_SERVER_ERROR",
                    "Incoming arguments are different than the original request for idempotencyKey: k",
                ),
            ),
        ];
        for (refusal, (code, message)) in cases {
            assert_eq!(v2(refusal), (code, message.to_owned()));
        }
    }

    #[test]
    fn wallet_address_refusals_in_both_dialects() {
        use WalletAddressError as W;
        // (error, seed code, today's code, today's message); the seed message is the error's own.
        let cases = [
            (W::InvalidUrl, "400", "BAD_USER_INPUT", "invalid url"),
            (W::UnknownAsset, "400", "BAD_USER_INPUT", "unknown asset"),
            (
                W::UnknownWalletAddress,
                "404",
                "NOT_FOUND",
                "unknown wallet address",
            ),
            (
                W::DuplicateWalletAddress,
                "409",
                "DUPLICATE",
                "Duplicate wallet address found with the same url",
            ),
            (
                W::PublicNameTooLong,
                "400",
                "BAD_USER_INPUT",
                "public name is too long (at most 255 characters)",
            ),
            (
                W::InvalidText,
                "400",
                "BAD_USER_INPUT",
                "text contains a control or invisible formatting character",
            ),
            (
                W::InvalidProperties,
                "400",
                "BAD_USER_INPUT",
                "too many or too long additional properties (at most 100; keys up to 255 characters, values up to 1024)",
            ),
        ];
        for (error, seed_code, v2_code, v2_message) in cases {
            assert_eq!(
                seed(error.into()),
                (seed_code, v2_message.to_owned(), None),
                "{error:?}"
            );
            assert_eq!(v2(error.into()), (v2_code, v2_message.to_owned()));
        }
        // Only the update's own lookup is capitalised, and only today.
        let update = Refusal::wallet_address_update(W::UnknownWalletAddress);
        assert_eq!(
            seed(update.clone()),
            ("404", "unknown wallet address".into(), None)
        );
        assert_eq!(v2(update), ("NOT_FOUND", "Unknown wallet address".into()));
        assert_eq!(
            Refusal::wallet_address_update(W::InvalidText),
            Refusal::from(W::InvalidText)
        );
    }
}
