//! Assets: create (or re-activate), update, delete, look up.

use uuid::Uuid;

use super::pagination::{self, Page, PageRequest, PaginationError};
use super::{Asset, AssetError, Instance, NewAsset, parse_id, reportable};
use crate::ledger::{AccountId, AccountKind, LedgerId};

const MAX_CODE_LENGTH: usize = 255;

impl Instance {
    /// Creates an asset with its liquidity and settlement accounts. A deleted asset with the same
    /// code and scale is re-activated instead, keeping its id and balances, as Rafiki does.
    pub fn create_asset(&self, new: NewAsset) -> Result<Asset, AssetError> {
        let code = new.code.trim();
        if code.is_empty()
            || code.len() > MAX_CODE_LENGTH
            || code.chars().any(char::is_whitespace)
            || crate::text::forbidden_character(code).is_some()
        {
            return Err(AssetError::InvalidCode);
        }
        let mut state = self.lock();
        if let Some(existing) = state
            .assets
            .iter_mut()
            .find(|a| a.code == code && a.scale == new.scale)
        {
            if !existing.deleted {
                return Err(AssetError::DuplicateAsset);
            }
            existing.deleted = false;
            existing.withdrawal_threshold = new.withdrawal_threshold;
            existing.liquidity_threshold = new.liquidity_threshold;
            return Ok(existing.clone());
        }
        let ledger = LedgerId(state.next_ledger + 1);
        let asset = Asset {
            id: crate::entropy::uuid(),
            code: code.to_owned(),
            scale: new.scale,
            ledger,
            withdrawal_threshold: new.withdrawal_threshold,
            liquidity_threshold: new.liquidity_threshold,
            created_at: crate::clock::now(),
            settlement_account: AccountId::random(),
            deleted: false,
        };
        state
            .accounting
            .create_account(asset.settlement_account, ledger, AccountKind::Settlement)
            .map_err(AssetError::Internal)?;
        state
            .accounting
            .create_account(AccountId(asset.id), ledger, AccountKind::AssetLiquidity)
            .map_err(AssetError::Internal)?;
        state.next_ledger += 1;
        state.assets.push(asset.clone());
        Ok(asset)
    }

    /// Sets both thresholds; an omitted one becomes unset, as in Rafiki.
    pub fn update_asset(
        &self,
        id: &str,
        withdrawal_threshold: Option<u64>,
        liquidity_threshold: Option<u64>,
    ) -> Result<Asset, AssetError> {
        let mut state = self.lock();
        let asset = find_active_mut(&mut state.assets, id).ok_or(AssetError::UnknownAsset)?;
        asset.withdrawal_threshold = withdrawal_threshold;
        asset.liquidity_threshold = liquidity_threshold;
        Ok(asset.clone())
    }

    /// Deletes an asset no peer or wallet address uses. Its accounts (and any balance) stay in the ledger.
    pub fn delete_asset(&self, id: &str) -> Result<Asset, AssetError> {
        let mut state = self.lock();
        let asset_id = find_active_mut(&mut state.assets, id)
            .ok_or(AssetError::UnknownAsset)?
            .id;
        if state.peers.iter().any(|peer| peer.asset_id == asset_id)
            || state.wallet_addresses.uses_asset(asset_id)
        {
            return Err(AssetError::CannotDeleteInUseAsset);
        }
        let asset = find_active_mut(&mut state.assets, id).ok_or(AssetError::UnknownAsset)?;
        asset.deleted = true;
        Ok(asset.clone())
    }

    pub fn asset(&self, id: &str) -> Option<Asset> {
        let mut state = self.lock();
        find_active_mut(&mut state.assets, id).map(|a| a.clone())
    }

    /// An asset by id even if deleted: a peer keeps pointing at its asset.
    pub fn asset_including_deleted(&self, id: Uuid) -> Option<Asset> {
        self.lock().assets.iter().find(|a| a.id == id).cloned()
    }

    pub fn asset_by_code_and_scale(&self, code: &str, scale: u8) -> Option<Asset> {
        self.lock()
            .assets
            .iter()
            .find(|a| !a.deleted && a.code == code && a.scale == scale)
            .cloned()
    }

    pub fn assets_page(&self, request: &PageRequest) -> Result<Page<Asset>, PaginationError> {
        let state = self.lock();
        let active: Vec<&Asset> = state.assets.iter().filter(|a| !a.deleted).collect();
        let page = pagination::paginate(&active, |a| a.id.to_string(), request)?;
        Ok(Page {
            items: page.items.into_iter().cloned().collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
        })
    }

    /// The asset's own liquidity (its liquidity account's balance).
    pub fn asset_liquidity(&self, asset_id: Uuid) -> Option<u64> {
        self.lock()
            .accounting
            .ledger()
            .balance(AccountId(asset_id))
            .ok()
            .map(reportable)
    }
}

fn find_active_mut<'a>(assets: &'a mut [Asset], id: &str) -> Option<&'a mut Asset> {
    let id = parse_id(id)?;
    assets.iter_mut().find(|a| a.id == id && !a.deleted)
}
