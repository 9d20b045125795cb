//! Wallet addresses, as Rafiki keeps them: a URL under this instance's Open Payments URL, in one
//! asset, with its own ledger account (what it has received and not yet paid out), a public
//! name, additional properties, and a status (inactive ones answer nothing in Open Payments).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use thiserror::Error;
use url::Url;
use uuid::Uuid;

use super::pagination::{self, Page, PageRequest, PaginationError};
use super::{Instance, parse_id, reportable};
use crate::ledger::{AccountId, AccountKind};
use crate::text::forbidden_character;

const MAX_PUBLIC_NAME_LENGTH: usize = 255;
const MAX_PROPERTIES: usize = 100;
const MAX_PROPERTY_KEY_LENGTH: usize = 255;
const MAX_PROPERTY_VALUE_LENGTH: usize = 1024;
const MAX_URL_LENGTH: usize = 2048;
/// Paths Open Payments resources live under; Rafiki refuses wallet addresses containing them.
const FORBIDDEN_PATHS: [&str; 3] = ["/incoming-payments", "/outgoing-payments", "/quotes"];

/// A wallet address. Its ledger account's id is the wallet address's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAddress {
    pub id: Uuid,
    pub asset_id: Uuid,
    /// The full URL, lower-cased as Rafiki stores it.
    pub url: String,
    pub public_name: Option<String>,
    pub additional_properties: Vec<AdditionalProperty>,
    pub active: bool,
    pub created_at: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdditionalProperty {
    pub key: String,
    pub value: String,
    pub visible_in_open_payments: bool,
}

/// What `createWalletAddress` takes. `address` is a full URL under the instance's Open Payments
/// URL, or only the path after it.
#[derive(Debug, Clone, Default)]
pub struct NewWalletAddress {
    pub asset_id: String,
    pub address: String,
    pub public_name: Option<String>,
    pub additional_properties: Vec<AdditionalProperty>,
}

/// What `updateWalletAddress` takes: omitted fields stay as they are; given properties replace
/// all the old ones.
#[derive(Debug, Clone, Default)]
pub struct WalletAddressUpdate {
    pub id: String,
    pub public_name: Option<String>,
    pub active: Option<bool>,
    pub additional_properties: Option<Vec<AdditionalProperty>>,
}

/// Rafiki's `WalletAddressError`s, plus the limits peerlab puts on free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WalletAddressError {
    #[error("invalid url")]
    InvalidUrl,
    #[error("unknown asset")]
    UnknownAsset,
    #[error("unknown wallet address")]
    UnknownWalletAddress,
    #[error("Duplicate wallet address found with the same url")]
    DuplicateWalletAddress,
    #[error("public name is too long (at most 255 characters)")]
    PublicNameTooLong,
    #[error("text contains a control or invisible formatting character")]
    InvalidText,
    #[error(
        "too many or too long additional properties (at most 100; keys up to 255 characters, values up to 1024)"
    )]
    InvalidProperties,
}

/// Wallet addresses by id, by URL, and in creation order (for pages).
#[derive(Debug, Default)]
pub(super) struct WalletAddresses {
    by_id: HashMap<Uuid, Arc<WalletAddress>>,
    by_url: HashMap<String, Uuid>,
    order: Vec<Uuid>,
}

impl WalletAddresses {
    pub(super) fn contains(&self, id: Uuid) -> bool {
        self.by_id.contains_key(&id)
    }

    pub(super) fn uses_asset(&self, asset_id: Uuid) -> bool {
        self.by_id
            .values()
            .any(|wallet| wallet.asset_id == asset_id)
    }

    pub(super) fn get(&self, id: Uuid) -> Option<&Arc<WalletAddress>> {
        self.by_id.get(&id)
    }

    fn in_order(&self) -> Vec<Arc<WalletAddress>> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id).cloned())
            .collect()
    }
}

impl Instance {
    /// Creates a wallet address and opens its account in its asset's ledger.
    pub fn create_wallet_address(
        &self,
        new: NewWalletAddress,
    ) -> Result<Arc<WalletAddress>, WalletAddressError> {
        let url = self.wallet_address_url(&new.address)?;
        let public_name = checked_public_name(new.public_name)?;
        let additional_properties = checked_properties(new.additional_properties)?;
        let mut state = self.lock();
        let asset = parse_id(&new.asset_id)
            .and_then(|id| state.assets.iter().find(|a| a.id == id && !a.deleted))
            .ok_or(WalletAddressError::UnknownAsset)?;
        let (asset_id, ledger) = (asset.id, asset.ledger);
        if state.wallet_addresses.by_url.contains_key(&url) {
            return Err(WalletAddressError::DuplicateWalletAddress);
        }
        let id = crate::entropy::uuid();
        state
            .accounting
            .create_account(AccountId(id), ledger, AccountKind::WalletAddress)
            .map_err(|_| WalletAddressError::UnknownAsset)?;
        let wallet = Arc::new(WalletAddress {
            id,
            asset_id,
            url: url.clone(),
            public_name,
            additional_properties,
            active: true,
            created_at: crate::clock::now(),
        });
        let wallets = &mut state.wallet_addresses;
        wallets.by_id.insert(id, wallet.clone());
        wallets.by_url.insert(url, id);
        wallets.order.push(id);
        Ok(wallet)
    }

    pub fn update_wallet_address(
        &self,
        update: WalletAddressUpdate,
    ) -> Result<Arc<WalletAddress>, WalletAddressError> {
        let public_name = checked_public_name(update.public_name)?;
        let additional_properties = update
            .additional_properties
            .map(checked_properties)
            .transpose()?;
        let mut state = self.lock();
        let id = parse_id(&update.id).ok_or(WalletAddressError::UnknownWalletAddress)?;
        let current = state
            .wallet_addresses
            .by_id
            .get(&id)
            .ok_or(WalletAddressError::UnknownWalletAddress)?;
        let mut wallet = WalletAddress::clone(current);
        if public_name.is_some() {
            wallet.public_name = public_name;
        }
        if let Some(active) = update.active {
            wallet.active = active;
        }
        if let Some(properties) = additional_properties {
            wallet.additional_properties = properties;
        }
        let wallet = Arc::new(wallet);
        state.wallet_addresses.by_id.insert(id, wallet.clone());
        Ok(wallet)
    }

    pub fn wallet_address(&self, id: &str) -> Option<Arc<WalletAddress>> {
        let id = parse_id(id)?;
        self.lock().wallet_addresses.by_id.get(&id).cloned()
    }

    pub fn wallet_address_by_id(&self, id: Uuid) -> Option<Arc<WalletAddress>> {
        self.lock().wallet_addresses.by_id.get(&id).cloned()
    }

    /// The wallet address at `url` (compared lower-cased, as Rafiki stores them).
    pub fn wallet_address_by_url(&self, url: &str) -> Option<Arc<WalletAddress>> {
        let url = url.trim().to_lowercase();
        let state = self.lock();
        let id = state.wallet_addresses.by_url.get(&url)?;
        state.wallet_addresses.by_id.get(id).cloned()
    }

    pub fn wallet_addresses_page(
        &self,
        request: &PageRequest,
    ) -> Result<Page<Arc<WalletAddress>>, PaginationError> {
        let ordered = self.lock().wallet_addresses.in_order();
        pagination::paginate(&ordered, |w| w.id.to_string(), request)
    }

    /// What the wallet address holds: received and not yet paid out or withdrawn.
    pub fn wallet_address_balance(&self, id: Uuid) -> Option<u64> {
        self.lock()
            .accounting
            .ledger()
            .balance(AccountId(id))
            .ok()
            .map(reportable)
    }

    /// The full, lower-cased URL for what a client gave as a wallet address: a URL under this
    /// instance's Open Payments URL, or a path to put after it (Rafiki's rules, with http
    /// allowed since peerlab serves Open Payments over plain HTTP).
    fn wallet_address_url(&self, address: &str) -> Result<String, WalletAddressError> {
        let address = address.trim();
        if address.is_empty() || address.len() > MAX_URL_LENGTH {
            return Err(WalletAddressError::InvalidUrl);
        }
        let base = self.settings().open_payments_url.as_str();
        let base = base.strip_suffix('/').unwrap_or(base);
        let full = match Url::parse(address) {
            Ok(url) => {
                if !url
                    .as_str()
                    .to_lowercase()
                    .starts_with(&base.to_lowercase())
                {
                    return Err(WalletAddressError::InvalidUrl);
                }
                url
            }
            Err(_) => Url::parse(&format!("{base}/{}", address.trim_start_matches('/')))
                .map_err(|_| WalletAddressError::InvalidUrl)?,
        };
        let path = full.path();
        let valid = matches!(full.scheme(), "http" | "https")
            && path != "/"
            && full.query().is_none()
            && full.fragment().is_none()
            && !FORBIDDEN_PATHS
                .iter()
                .any(|forbidden| path.contains(forbidden));
        if !valid {
            return Err(WalletAddressError::InvalidUrl);
        }
        Ok(full.as_str().to_lowercase())
    }
}

fn checked_public_name(name: Option<String>) -> Result<Option<String>, WalletAddressError> {
    let Some(name) = name else { return Ok(None) };
    if name.chars().count() > MAX_PUBLIC_NAME_LENGTH {
        return Err(WalletAddressError::PublicNameTooLong);
    }
    if forbidden_character(&name).is_some() {
        return Err(WalletAddressError::InvalidText);
    }
    Ok(Some(name))
}

/// Rafiki drops properties with an empty key or value; peerlab also bounds them.
fn checked_properties(
    properties: Vec<AdditionalProperty>,
) -> Result<Vec<AdditionalProperty>, WalletAddressError> {
    let kept: Vec<AdditionalProperty> = properties
        .into_iter()
        .filter(|p| !p.key.is_empty() && !p.value.is_empty())
        .collect();
    let too_long = |p: &AdditionalProperty| {
        p.key.chars().count() > MAX_PROPERTY_KEY_LENGTH
            || p.value.chars().count() > MAX_PROPERTY_VALUE_LENGTH
    };
    if kept.len() > MAX_PROPERTIES || kept.iter().any(too_long) {
        return Err(WalletAddressError::InvalidProperties);
    }
    if kept
        .iter()
        .any(|p| forbidden_character(&p.key).is_some() || forbidden_character(&p.value).is_some())
    {
        return Err(WalletAddressError::InvalidText);
    }
    Ok(kept)
}
