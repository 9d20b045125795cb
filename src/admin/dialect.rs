//! Which of Rafiki's two ways of reporting a refusal a request gets (design.md, "The admin API
//! dialect"): the seed era's payloads (`{code, success: false, message}`) or today's GraphQL
//! errors with `extensions.code`.
//!
//! By default the choice is made per mutation field, from its selection: `code`, `message` and
//! `error` exist only in the seed era's payloads, so a client that selects one of them was
//! written for that era; any other selection is today's. `ADMIN_API_DIALECT` can force either.

use std::fmt;
use std::str::FromStr;

use async_graphql::{Context, Result};
use serde::Deserialize;

use super::outcome::Refusal;
use super::types::Payload;

/// The payload fields only the seed era has. Selecting any of them, directly or through a
/// fragment, asks for the seed dialect.
pub const SEED_FIELDS: [&str; 3] = ["code", "message", "error"];

/// How refusals are reported to one mutation field or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Refusals are payloads; `peer(id)` / `asset(id)` answer null for an unknown id.
    Seed,
    /// Refusals are GraphQL errors at the field's path, with Rafiki v2's messages and codes.
    V2,
}

/// `ADMIN_API_DIALECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DialectSetting {
    /// Per mutation field, from its selection; queries as today's Rafiki.
    #[default]
    Auto,
    Seed,
    V2,
}

impl DialectSetting {
    pub const ALLOWED: &'static str = "auto, seed or v2";

    /// The dialect of a mutation field, given whether its selection asks for a seed-era field.
    pub fn for_mutation(self, selects_seed_fields: bool) -> Dialect {
        match self {
            Self::Seed => Dialect::Seed,
            Self::V2 => Dialect::V2,
            Self::Auto if selects_seed_fields => Dialect::Seed,
            Self::Auto => Dialect::V2,
        }
    }

    /// The dialect of a query: a query's selection says nothing about its client's era, so only
    /// a forced seed dialect keeps the seed era's null for an unknown id.
    pub fn for_query(self) -> Dialect {
        match self {
            Self::Seed => Dialect::Seed,
            Self::Auto | Self::V2 => Dialect::V2,
        }
    }
}

impl FromStr for DialectSetting {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "seed" => Ok(Self::Seed),
            "v2" => Ok(Self::V2),
            _ => Err(()),
        }
    }
}

impl fmt::Display for DialectSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Seed => "seed",
            Self::V2 => "v2",
        })
    }
}

fn setting(ctx: &Context<'_>) -> DialectSetting {
    ctx.data_opt::<DialectSetting>()
        .copied()
        .unwrap_or_default()
}

/// The dialect of the mutation field `ctx` resolves.
pub fn of_mutation(ctx: &Context<'_>) -> Dialect {
    let selection = ctx.look_ahead();
    let selects_seed_fields = SEED_FIELDS
        .iter()
        .any(|field| selection.field(field).exists());
    setting(ctx).for_mutation(selects_seed_fields)
}

/// The dialect of the query field `ctx` resolves.
pub fn of_query(ctx: &Context<'_>) -> Dialect {
    setting(ctx).for_query()
}

/// A mutation's result, for a field whose type is non-null (`createPeer`...), in the dialect of
/// its selection: a refusal is the seed era's payload, or today's GraphQL error, which leaves the
/// field without a value and so makes `data` null, as Apollo Server does.
pub fn report<T: Payload>(ctx: &Context<'_>, result: Result<T, Refusal>) -> Result<T> {
    match (of_mutation(ctx), result) {
        (_, Ok(payload)) => Ok(payload),
        (Dialect::Seed, Err(refusal)) => Ok(T::from_outcome(refusal.seed_outcome())),
        (Dialect::V2, Err(refusal)) => Err(refusal.v2_error()),
    }
}

/// A mutation's result, for a field whose type is nullable (the liquidity mutations): as
/// [`report`], but today's GraphQL error leaves the field null and the rest of `data` as it is
/// (`{"depositPeerLiquidity": null}`), as Apollo Server does.
pub fn report_nullable<T: Payload>(
    ctx: &Context<'_>,
    result: Result<T, Refusal>,
) -> Result<Option<T>> {
    match (of_mutation(ctx), result) {
        (_, Ok(payload)) => Ok(Some(payload)),
        (Dialect::Seed, Err(refusal)) => Ok(Some(T::from_outcome(refusal.seed_outcome()))),
        (Dialect::V2, Err(refusal)) => null_with_error(ctx, refusal),
    }
}

/// A query for one thing by id that found nothing: null in the seed era; today, `refusal` as a
/// GraphQL error with the field null (Rafiki's schema types these fields nullable, and throws).
pub fn not_found<T>(ctx: &Context<'_>, refusal: Refusal) -> Result<Option<T>> {
    match of_query(ctx) {
        Dialect::Seed => Ok(None),
        Dialect::V2 => null_with_error(ctx, refusal),
    }
}

/// Reports `refusal` at the field's path and gives the field null. async-graphql leaves a field
/// that returns an error out of its parent altogether; GraphQL (and Apollo Server) make a
/// nullable one null.
fn null_with_error<T>(ctx: &Context<'_>, refusal: Refusal) -> Result<Option<T>> {
    // The field's position, as async-graphql's own resolvers report it.
    let error = refusal.v2_error().into_server_error(ctx.item.pos);
    ctx.add_error(ctx.set_error_path(error));
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_read_in_any_case_and_auto_follows_the_selection() {
        assert_eq!(" V2 ".parse(), Ok(DialectSetting::V2));
        assert_eq!("Seed".parse(), Ok(DialectSetting::Seed));
        assert_eq!("auto".parse(), Ok(DialectSetting::Auto));
        assert_eq!("v1".parse::<DialectSetting>(), Err(()));
        let auto = DialectSetting::Auto;
        assert_eq!(auto.for_mutation(true), Dialect::Seed);
        assert_eq!(auto.for_mutation(false), Dialect::V2);
        assert_eq!(DialectSetting::Seed.for_mutation(false), Dialect::Seed);
        assert_eq!(DialectSetting::V2.for_mutation(true), Dialect::V2);
        assert_eq!(auto.for_query(), Dialect::V2);
        assert_eq!(DialectSetting::Seed.for_query(), Dialect::Seed);
    }
}
