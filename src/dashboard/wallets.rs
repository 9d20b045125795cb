//! Wallet addresses (list, create) and payments: send one from a wallet address to any wallet
//! address URL (a receiver, a quote for the amount, an outgoing payment, its funding: what
//! Rafiki's integration suite does through the admin API) and watch its state change.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use super::api::ApiError;
use super::forms::{self, Errors, Fields, field};
use super::layout::{csrf, input};
use super::peers::{asset_select, assets};
use super::{Ctx, Cursor, Dashboard, ListPage, Submitted, done, redirect};

pub(super) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/wallet-addresses", get(list))
        .route("/wallet-addresses/create", get(create_form).post(create))
        .route("/payments", get(payments))
        .route("/payments/send", post(send))
        .route("/payments/{id}", get(payment))
}

/// The wallet addresses a payment form offers, and whose payments it lists: with
/// [`PAYMENTS_PER_WALLET`], kept within the admin API's query cost limit.
const MAX_WALLETS_LISTED: u32 = 20;
/// Payments listed per wallet address.
const PAYMENTS_PER_WALLET: u32 = 5;

const WALLETS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  walletAddresses(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { node { id address publicName status liquidity asset { code scale } } }
  }
}";

fn amount_text(amount: &Value) -> String {
    let value = amount["value"]
        .as_str()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let scale = amount["assetScale"]
        .as_u64()
        .and_then(|s| u8::try_from(s).ok())
        .unwrap_or(0);
    format!(
        "{} {}",
        forms::format_amount(value, scale),
        amount["assetCode"].as_str().unwrap_or_default()
    )
}

async fn list(ctx: Ctx, Query(cursor): Query<Cursor>) -> Response {
    let page = ListPage {
        title: "Wallet Addresses",
        path: "/wallet-addresses",
        button: ("/wallet-addresses/create", "Create wallet address"),
        columns: &[
            "Wallet address",
            "Public name",
            "Asset",
            "Status",
            "Balance",
        ],
        empty: "No wallet addresses found.",
    };
    ctx.list_page(page, WALLETS, "walletAddresses", &cursor, |wallet| {
        let scale = wallet["asset"]["scale"]
            .as_u64()
            .and_then(|s| u8::try_from(s).ok())
            .unwrap_or(0);
        let balance = wallet["liquidity"]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let status = wallet["status"].as_str().unwrap_or_default();
        html! {
            tr {
                td.mono { (wallet["address"].as_str().unwrap_or_default()) }
                td { (wallet["publicName"].as_str().unwrap_or_default()) }
                td { (super::peers::asset_label(&wallet["asset"])) }
                td { span class={ "badge " (status) } { (status) } }
                td { (forms::format_amount(balance, scale)) " " (wallet["asset"]["code"].as_str().unwrap_or_default()) }
            }
        }
    })
    .await
}

async fn create_form(ctx: Ctx) -> Response {
    create_page(&ctx, &Fields::new(), &Errors::default(), None).await
}

async fn create_page(
    ctx: &Ctx,
    values: &Fields,
    errors: &Errors,
    failure: Option<String>,
) -> Response {
    let assets = match assets(ctx).await {
        Ok(assets) => assets,
        Err(error) => return ctx.failed("Create Wallet Address", "/wallet-addresses", &error),
    };
    ctx.render(
        "Create Wallet Address",
        "/wallet-addresses",
        html! {
            h1 { "Create Wallet Address" }
            @if let Some(failure) = failure {
                div.flash.bad role="alert" { (failure) }
            }
            form.card method="post" action="/wallet-addresses/create" {
                (csrf(ctx.token()))
                (input("Wallet address name", "name", "text", true, values, errors))
                div.hint.muted { "Its path under the instance's Open Payments URL (alice), or the full URL." }
                (input("Public name", "publicName", "text", false, values, errors))
                (asset_select("asset", &assets, values, errors))
                div.actions { button type="submit" { "Create" } }
            }
        },
    )
}

async fn create(Submitted { ctx, fields }: Submitted) -> Response {
    let mut errors = Errors::default();
    let name = field(&fields, "name");
    if name.is_empty() {
        errors.add("name", "The wallet address needs a name.");
    }
    let asset = field(&fields, "asset");
    forms::check_uuid(&mut errors, "asset", asset, forms::INVALID_ASSET);
    if !errors.is_empty() {
        return create_page(&ctx, &fields, &errors, None).await;
    }
    let mut input = json!({
        "address": name,
        "assetId": asset,
        "idempotencyKey": uuid::Uuid::new_v4().to_string(),
    });
    let public_name = field(&fields, "publicName");
    if !public_name.is_empty() {
        input["publicName"] = json!(public_name);
    }
    let created = ctx
        .call(
            "mutation($input: CreateWalletAddressInput!) { createWalletAddress(input: $input) { success walletAddress { id } } }",
            json!({ "input": input }),
        )
        .await;
    match created {
        Ok(_) => redirect("/wallet-addresses", done("Wallet address created.")),
        Err(error) => {
            create_page(
                &ctx,
                &fields,
                &Errors::default(),
                Some(format!(
                    "Could not create wallet address. Please try again! ({error})"
                )),
            )
            .await
        }
    }
}

/// The wallet addresses with their recent outgoing payments.
const WALLETS_WITH_PAYMENTS: &str = "query($first: Int, $payments: Int) {
  walletAddresses(first: $first) {
    edges { node { id address status asset { code scale }
      outgoingPayments(first: $payments) { edges { node {
        id state receiver createdAt debitAmount { value assetCode assetScale } sentAmount { value assetCode assetScale }
      } } }
    } }
  }
}";

async fn payments(ctx: Ctx) -> Response {
    payments_page(&ctx, &Fields::new(), &Errors::default(), None).await
}

async fn payments_page(
    ctx: &Ctx,
    values: &Fields,
    errors: &Errors,
    failure: Option<String>,
) -> Response {
    let data = match ctx
        .call(
            WALLETS_WITH_PAYMENTS,
            json!({ "first": MAX_WALLETS_LISTED, "payments": PAYMENTS_PER_WALLET }),
        )
        .await
    {
        Ok(data) => data,
        Err(error) => return ctx.failed("Payments", "/payments", &error),
    };
    let wallets: Vec<Value> = data["walletAddresses"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|edge| edge["node"].clone()).collect())
        .unwrap_or_default();
    let chosen = values.get("from").map(String::as_str).unwrap_or("");
    let mut sent: Vec<(String, Value)> = wallets
        .iter()
        .flat_map(|wallet| {
            let from = wallet["address"].as_str().unwrap_or_default().to_owned();
            wallet["outgoingPayments"]["edges"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |edge| (from.clone(), edge["node"].clone()))
        })
        .collect();
    sent.sort_by(|a, b| {
        b.1["createdAt"]
            .as_str()
            .unwrap_or_default()
            .cmp(a.1["createdAt"].as_str().unwrap_or_default())
    });
    ctx.render(
        "Payments",
        "/payments",
        html! {
            h1 { "Payments" }
            @if let Some(failure) = failure {
                div.flash.bad role="alert" { (failure) }
            }
            form.card method="post" action="/payments/send" {
                (csrf(ctx.token()))
                h2 { "Send a payment" }
                p.muted { "A receiver at the wallet address, a quote for the amount, an outgoing payment and its funding, through the admin API." }
                label for="from" { "From " span.req { "*" } }
                select id="from" name="from" required {
                    option value="" { "Select a wallet address..." }
                    @for wallet in &wallets {
                        @let id = wallet["id"].as_str().unwrap_or_default();
                        option value=(id) selected[chosen == id] {
                            (wallet["address"].as_str().unwrap_or_default()) " (" (wallet["asset"]["code"].as_str().unwrap_or_default()) ")"
                        }
                    }
                }
                @if let Some(message) = errors.get("from") { div.error data-for="from" { (message) } }
                (input("To (wallet address URL)", "to", "text", true, values, errors))
                (input("Amount", "amount", "text", true, values, errors))
                div.hint.muted { "In the sending wallet address's asset (12.34)." }
                div.actions { button type="submit" { "Send" } }
            }
            h2 { "Outgoing payments" }
            table {
                thead { tr { th { "Payment" } th { "From" } th { "State" } th { "Debit" } th { "Sent" } } }
                tbody {
                    @if sent.is_empty() {
                        tr { td colspan="5" style="text-align:center" { "No payments found." } }
                    }
                    @for (from, payment) in &sent {
                        @let id = payment["id"].as_str().unwrap_or_default();
                        tr.link data-href={ "/payments/" (id) } {
                            td.mono { a href={ "/payments/" (id) } { (id) } }
                            td.mono { (from) }
                            td { span class={ "badge " (payment["state"].as_str().unwrap_or_default()) } { (payment["state"].as_str().unwrap_or_default()) } }
                            td { (amount_text(&payment["debitAmount"])) }
                            td { (amount_text(&payment["sentAmount"])) }
                        }
                    }
                }
            }
        },
    )
}

async fn send(Submitted { ctx, fields }: Submitted) -> Response {
    let mut errors = Errors::default();
    let from = field(&fields, "from");
    let to = field(&fields, "to");
    if !url::Url::parse(to).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        errors.add("to", "Invalid wallet address URL.");
    }
    let wallet = ctx
        .call(
            "query($id: String!) { walletAddress(id: $id) { id asset { code scale } } }",
            json!({ "id": from }),
        )
        .await
        .ok()
        .map(|data| data["walletAddress"].clone())
        .filter(Value::is_object);
    let Some(wallet) = wallet else {
        errors.add("from", "Select the wallet address to pay from.");
        return payments_page(&ctx, &fields, &errors, None).await;
    };
    let code = wallet["asset"]["code"].as_str().unwrap_or_default();
    let scale = wallet["asset"]["scale"]
        .as_u64()
        .and_then(|s| u8::try_from(s).ok())
        .unwrap_or(0);
    let amount = match forms::amount_at_scale(field(&fields, "amount"), scale) {
        Ok(amount) => Some(amount),
        Err(message) => {
            errors.add("amount", message);
            None
        }
    };
    let (Some(amount), true) = (amount, errors.is_empty()) else {
        return payments_page(&ctx, &fields, &errors, None).await;
    };
    match pay(&ctx, from, to, amount, code, scale).await {
        Ok(id) => redirect(
            &format!("/payments/{id}"),
            done("Payment created and funded: it is on its way."),
        ),
        Err(error) => {
            payments_page(
                &ctx,
                &fields,
                &Errors::default(),
                Some(format!("Could not send the payment: {error}")),
            )
            .await
        }
    }
}

/// Receiver, quote, outgoing payment, funding; returns the outgoing payment's id.
async fn pay(
    ctx: &Ctx,
    from: &str,
    to: &str,
    amount: u64,
    code: &str,
    scale: u8,
) -> Result<String, ApiError> {
    let key = || uuid::Uuid::new_v4().to_string();
    let receiver = ctx
        .call(
            "mutation($input: CreateReceiverInput!) { createReceiver(input: $input) { success receiver { id } } }",
            json!({ "input": { "walletAddressUrl": to, "idempotencyKey": key() } }),
        )
        .await?;
    let receiver = receiver["createReceiver"]["receiver"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let quote = ctx
        .call(
            "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { success quote { id } } }",
            json!({ "input": {
                "walletAddressId": from,
                "receiver": receiver,
                "debitAmount": { "value": amount.to_string(), "assetCode": code, "assetScale": scale },
                "idempotencyKey": key(),
            } }),
        )
        .await?;
    let quote = quote["createQuote"]["quote"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let payment = ctx
        .call(
            "mutation($input: CreateOutgoingPaymentInput!) { createOutgoingPayment(input: $input) { success payment { id } } }",
            json!({ "input": { "walletAddressId": from, "quoteId": quote, "idempotencyKey": key() } }),
        )
        .await?;
    let id = payment["createOutgoingPayment"]["payment"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let funded = ctx
        .call(
            "mutation($input: DepositOutgoingPaymentLiquidityInput!) { depositOutgoingPaymentLiquidity(input: $input) { success } }",
            json!({ "input": { "outgoingPaymentId": id, "idempotencyKey": key() } }),
        )
        .await;
    if let Err(error) = funded {
        // An operator listening to webhooks (the mock operator) may have funded it already.
        let state = read_payment(ctx, &id).await.ok();
        if state.as_ref().is_none_or(|p| p["state"] == "FUNDING") {
            return Err(error);
        }
    }
    Ok(id)
}

async fn read_payment(ctx: &Ctx, id: &str) -> Result<Value, ApiError> {
    let data = ctx
        .call(
            "query($id: String!) { outgoingPayment(id: $id) {
                id walletAddressId state error receiver createdAt
                debitAmount { value assetCode assetScale }
                receiveAmount { value assetCode assetScale }
                sentAmount { value assetCode assetScale }
            } }",
            json!({ "id": id }),
        )
        .await?;
    if data["outgoingPayment"].is_object() {
        Ok(data["outgoingPayment"].clone())
    } else {
        Err(ApiError::Refused {
            message: "payment does not exist".into(),
            code: "NOT_FOUND".into(),
        })
    }
}

async fn payment(ctx: Ctx, Path(id): Path<String>) -> Response {
    let payment = match read_payment(&ctx, &id).await {
        Ok(payment) => payment,
        Err(error) => return ctx.failed("Payment", "/payments", &error),
    };
    let state = payment["state"].as_str().unwrap_or_default().to_owned();
    // Reloaded every second until the payment ends, so its state is watched changing.
    let live = state == "FUNDING" || state == "SENDING";
    ctx.render_refreshing(
        "Payment",
        "/payments",
        live.then_some(1),
        StatusCode::OK,
        html! {
            h1 { "Outgoing payment" }
            div.card {
                p { "State: " span id="state" class={ "badge " (state) } { (state) }
                    @if live { " " span.muted { "(refreshing)" } } }
                @if let Some(error) = payment["error"].as_str() {
                    div.flash.bad { (error) }
                }
                table {
                    tbody {
                        tr { th { "Payment ID" } td.mono { (id) } }
                        tr { th { "Receiver" } td.mono { (payment["receiver"].as_str().unwrap_or_default()) } }
                        tr { th { "Debit amount" } td { (amount_text(&payment["debitAmount"])) } }
                        tr { th { "Receive amount" } td { (amount_text(&payment["receiveAmount"])) } }
                        tr { th { "Sent" } td id="sent" { (amount_text(&payment["sentAmount"])) } }
                        tr { th { "Created" } td { (payment["createdAt"].as_str().unwrap_or_default()) } }
                    }
                }
            }
            a href="/payments" { "All payments" }
        },
    )
}
