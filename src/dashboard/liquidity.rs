//! Liquidity on an account the dashboard shows (a peer's or an asset's): Rafiki's deposit and
//! withdraw dialogs, amounts typed in the asset's unit, and peerlab's two-phase withdrawals,
//! listed while pending and posted or voided from the page.

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::post;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::api::ApiError;
use super::forms::{self, Fields, field};
use super::layout::csrf;
use super::{Ctx, Dashboard, Submitted, done, local_path, redirect, refused};

pub(super) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/withdrawals/{id}/post", post(post_withdrawal))
        .route("/withdrawals/{id}/void", post(void_withdrawal))
}

/// An account with liquidity: whose it is, how the API names it, where its page is.
pub(super) struct Account {
    /// The input field naming the account: `peerId` or `assetId`.
    field: &'static str,
    id: String,
    /// The account's page, to go back to.
    back: String,
    scale: u8,
    /// "peer" or "asset", for messages.
    kind: &'static str,
    /// The mutations: deposit, then withdrawal.
    mutations: (&'static str, &'static str),
}

impl Account {
    pub fn peer(id: &str, scale: u8) -> Self {
        Self {
            field: "peerId",
            id: id.to_owned(),
            back: format!("/peers/{id}"),
            scale,
            kind: "peer",
            mutations: (
                "mutation($input: DepositPeerLiquidityInput!) { depositPeerLiquidity(input: $input) { success } }",
                "mutation($input: CreatePeerLiquidityWithdrawalInput!) { createPeerLiquidityWithdrawal(input: $input) { success } }",
            ),
        }
    }

    pub fn asset(id: &str, scale: u8) -> Self {
        Self {
            field: "assetId",
            id: id.to_owned(),
            back: format!("/assets/{id}"),
            scale,
            kind: "asset",
            mutations: (
                "mutation($input: DepositAssetLiquidityInput!) { depositAssetLiquidity(input: $input) { success } }",
                "mutation($input: CreateAssetLiquidityWithdrawalInput!) { createAssetLiquidityWithdrawal(input: $input) { success } }",
            ),
        }
    }

    /// The mutation input for `amount`, with fresh transfer id and idempotency key.
    fn input(&self, amount: u64) -> Value {
        json!({
            self.field: self.id,
            "amount": amount.to_string(),
            "id": uuid::Uuid::new_v4().to_string(),
            "idempotencyKey": uuid::Uuid::new_v4().to_string(),
        })
    }
}

/// The deposit dialog's action.
pub(super) async fn deposit(ctx: &Ctx, fields: &Fields, account: &Account) -> Response {
    let amount = match dialog_amount(fields, account.scale) {
        Ok(amount) => amount,
        Err(message) => return redirect(&account.back, refused(message)),
    };
    let deposited = ctx
        .call(
            account.mutations.0,
            json!({ "input": account.input(amount) }),
        )
        .await;
    outcome(
        &account.back,
        deposited,
        &format!("Deposited {} liquidity.", account.kind),
    )
}

/// The withdraw dialog's action: single-phase, as Rafiki's dashboard withdraws, unless two
/// phases were asked for.
pub(super) async fn withdraw(ctx: &Ctx, fields: &Fields, account: &Account) -> Response {
    let amount = match dialog_amount(fields, account.scale) {
        Ok(amount) => amount,
        Err(message) => return redirect(&account.back, refused(message)),
    };
    let timeout = match withdrawal_timeout(fields) {
        Ok(timeout) => timeout,
        Err(message) => return redirect(&account.back, refused(message)),
    };
    let mut input = account.input(amount);
    if let Some(seconds) = timeout {
        input["timeoutSeconds"] = json!(seconds.to_string());
    }
    let withdrawn = ctx
        .call(account.mutations.1, json!({ "input": input }))
        .await;
    let success = if timeout == Some(0) {
        format!("Withdrew {} liquidity.", account.kind)
    } else {
        "Created a two-phase withdrawal: post or void it below.".to_owned()
    };
    outcome(&account.back, withdrawn, &success)
}

fn outcome(back: &str, outcome: Result<Value, ApiError>, success: &str) -> Response {
    match outcome {
        Ok(_) => redirect(back, done(success)),
        Err(ApiError::Refused { message, .. }) => redirect(
            back,
            refused(format!("{} ({message})", forms::AMOUNT_INVALID)),
        ),
        Err(error) => redirect(back, refused(error.to_string())),
    }
}

/// The withdrawal's `timeoutSeconds`: 0 (single-phase) unless two phases were asked for; then
/// the timeout given, or none.
fn withdrawal_timeout(fields: &Fields) -> Result<Option<u64>, &'static str> {
    if field(fields, "twoPhase") != "on" {
        return Ok(Some(0));
    }
    let timeout = field(fields, "timeoutSeconds");
    if timeout.is_empty() {
        return Ok(None);
    }
    match timeout.parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Some(seconds)),
        _ => Err("The timeout should be a whole number of seconds above 0."),
    }
}

/// The amount a liquidity dialog asked for, at `scale`, or the message saying why not.
fn dialog_amount(fields: &Fields, scale: u8) -> Result<u64, &'static str> {
    forms::amount_at_scale(field(fields, "displayAmount"), scale)
}

/// Two-phase withdrawals not yet posted or voided, read from the account's transfers.
const PENDING: &str = "query($id: String!) {
  accountingTransfers(id: $id, limit: 100) { debits { id amount transferType state expiresAt createdAt } }
}";

pub(super) async fn pending_withdrawals(ctx: &Ctx, account: &str) -> Vec<Value> {
    match ctx.call(PENDING, json!({ "id": account })).await {
        Ok(data) => data["accountingTransfers"]["debits"]
            .as_array()
            .map(|debits| {
                debits
                    .iter()
                    .filter(|t| t["transferType"] == "WITHDRAWAL" && t["state"] == "PENDING")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// The pending two-phase withdrawals of an account, each with Post and Void.
pub(super) fn pending_section(
    ctx: &Ctx,
    pending: &[Value],
    scale: u8,
    code: &str,
    back: &str,
) -> Markup {
    html! {
        div.section {
            div {
                h2 { "Pending Withdrawals" }
                p.hint { "Two-phase withdrawals hold the amount until posted (it leaves) or voided (it comes back)." }
            }
            div {
                @if pending.is_empty() {
                    p.muted id="no-pending" { "No pending withdrawals." }
                } @else {
                    table id="pending-withdrawals" {
                        thead { tr { th { "Withdrawal ID" } th { "Amount" } th { "Expires" } th {} } }
                        tbody {
                            @for withdrawal in pending {
                                @let id = withdrawal["id"].as_str().unwrap_or_default();
                                @let amount = withdrawal["amount"].as_str().and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
                                tr data-withdrawal=(id) {
                                    td.mono { (id) }
                                    td { (forms::format_amount(amount, scale)) " " (code) }
                                    td { (withdrawal["expiresAt"].as_str().unwrap_or("never")) }
                                    td {
                                        div style="display:flex;gap:8px" {
                                            form method="post" action={ "/withdrawals/" (id) "/post" } {
                                                (csrf(ctx.token()))
                                                input type="hidden" name="back" value=(back);
                                                button type="submit" { "Post" }
                                            }
                                            form method="post" action={ "/withdrawals/" (id) "/void" } {
                                                (csrf(ctx.token()))
                                                input type="hidden" name="back" value=(back);
                                                button.secondary type="submit" { "Void" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Rafiki's liquidity dialog: an amount in the asset's unit; peerlab adds, for withdrawals, a
/// choice of two phases (held until posted or voided) with an optional timeout.
pub(super) fn liquidity_dialog(
    ctx: &Ctx,
    id: &str,
    title: &str,
    code: &str,
    action: &str,
    withdrawal: bool,
) -> Markup {
    html! {
        dialog id=(id) {
            form method="post" action=(action) {
                (csrf(ctx.token()))
                h2 { (title) }
                label for={ (id) "-amount" } { "Amount " span.muted { (code) } }
                input id={ (id) "-amount" } name="displayAmount" type="text" inputmode="decimal" required;
                @if withdrawal {
                    label style="font-weight:400" {
                        input type="checkbox" name="twoPhase" value="on" style="width:auto";
                        " Two-phase: hold it until posted or voided"
                    }
                    label for={ (id) "-timeout" } { "Timeout (seconds, two-phase only; empty: none)" }
                    input id={ (id) "-timeout" } name="timeoutSeconds" type="text";
                }
                div.actions {
                    button.secondary type="button" data-close { "Cancel" }
                    button type="submit" { (if withdrawal { "Withdraw" } else { "Deposit" }) }
                }
            }
        }
    }
}

async fn post_withdrawal(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    resolve_withdrawal(ctx, fields, id, true).await
}

async fn void_withdrawal(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    resolve_withdrawal(ctx, fields, id, false).await
}

async fn resolve_withdrawal(ctx: Ctx, fields: Fields, id: String, post: bool) -> Response {
    let back = local_path(field(&fields, "back"), "/peers");
    let (mutation, success) = if post {
        (
            "mutation($input: PostLiquidityWithdrawalInput) { postLiquidityWithdrawal(input: $input) { success } }",
            "Withdrawal posted: the amount has left.",
        )
    } else {
        (
            "mutation($input: VoidLiquidityWithdrawalInput) { voidLiquidityWithdrawal(input: $input) { success } }",
            "Withdrawal voided: the amount is back.",
        )
    };
    let input = json!({ "withdrawalId": id, "idempotencyKey": uuid::Uuid::new_v4().to_string() });
    match ctx.call(mutation, json!({ "input": input })).await {
        Ok(_) => redirect(&back, done(success)),
        Err(error) => redirect(&back, refused(error.to_string())),
    }
}
