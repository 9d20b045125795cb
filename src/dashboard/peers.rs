//! Rafiki's Peers pages (list, Create Peer, peer details with its liquidity dialogs and delete),
//! with peerlab's additions: initial liquidity, routes and a threshold on Create Peer, two-phase
//! withdrawals posted or voided, and Peer by URL (auto-peering).

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::ApiError;
use super::forms::{self, Errors, Fields, field};
use super::layout::{csrf, input, pager, read_only};
use super::session::Visit;
use super::{Ctx, Dashboard, done, local_path, redirect, refused};

pub(super) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/peers", get(list))
        .route("/peers/create", get(create_form).post(create))
        .route("/peers/by-url", get(by_url_form).post(by_url))
        .route("/peers/{id}", get(details))
        .route("/peers/{id}/general", post(update_general))
        .route("/peers/{id}/http", post(update_http))
        .route("/peers/{id}/deposit", post(deposit))
        .route("/peers/{id}/withdraw", post(withdraw))
        .route("/peers/{id}/delete", post(delete))
        .route("/withdrawals/{id}/post", post(post_withdrawal))
        .route("/withdrawals/{id}/void", post(void_withdrawal))
}

/// Rafiki's lists show this many rows a page.
pub(super) const PAGE_SIZE: u32 = 20;
/// The assets offered in a select: a sandbox has a handful.
const MAX_ASSETS_OFFERED: u32 = 100;

#[derive(Debug, Deserialize, Default)]
pub(super) struct Cursor {
    pub after: Option<String>,
    pub before: Option<String>,
}

impl Cursor {
    /// The page's variables: the page before `before`, or the page after `after`.
    pub fn variables(&self) -> Value {
        match (&self.before, &self.after) {
            (Some(before), _) => json!({ "last": PAGE_SIZE, "before": before }),
            (None, after) => json!({ "first": PAGE_SIZE, "after": after }),
        }
    }
}

const PEERS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  peers(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { node { id name staticIlpAddress asset { code scale } http { outgoing { endpoint } } } }
  }
}";

async fn list(State(d): State<Dashboard>, visit: Visit, Query(cursor): Query<Cursor>) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let data = match ctx.call(PEERS, cursor.variables()).await {
        Ok(data) => data,
        Err(error) => return ctx.failed("Peers", "/peers", &error),
    };
    let connection = &data["peers"];
    let edges = connection["edges"].as_array().cloned().unwrap_or_default();
    ctx.render(
        "Peers",
        "/peers",
        html! {
            div style="display:flex;justify-content:space-between;align-items:center" {
                h1 { "Peers" }
                a.button href="/peers/create" { "Create peer" }
            }
            table {
                thead { tr { th { "Name" } th { "ILP Address" } th { "Asset" } th { "Outgoing HTTP Endpoint" } } }
                tbody {
                    @if edges.is_empty() {
                        tr { td colspan="4" style="text-align:center" { "No peers found." } }
                    }
                    @for edge in &edges {
                        @let peer = &edge["node"];
                        @let id = peer["id"].as_str().unwrap_or_default();
                        tr.link data-href={ "/peers/" (id) } {
                            td {
                                a href={ "/peers/" (id) } {
                                    @match peer["name"].as_str().filter(|n| !n.is_empty()) {
                                        Some(name) => { (name) },
                                        None => { span.muted { "No peer name" } },
                                    }
                                }
                                div.muted.mono { "(ID: " (id) ")" }
                            }
                            td.mono { (peer["staticIlpAddress"].as_str().unwrap_or_default()) }
                            td { (asset_label(&peer["asset"])) }
                            td.mono { (peer["http"]["outgoing"]["endpoint"].as_str().unwrap_or_default()) }
                        }
                    }
                }
            }
            (pager("/peers", &connection["pageInfo"]))
        },
    )
}

/// "USD (Scale: 2)", as Rafiki's list shows an asset.
pub(super) fn asset_label(asset: &Value) -> String {
    format!(
        "{} (Scale: {})",
        asset["code"].as_str().unwrap_or("?"),
        asset["scale"].as_u64().unwrap_or(0)
    )
}

/// The instance's assets: (id, code, scale).
pub(super) async fn assets(ctx: &Ctx) -> Result<Vec<(String, String, u8)>, ApiError> {
    let data = ctx
        .call(
            "query($first: Int) { assets(first: $first) { edges { node { id code scale } } } }",
            json!({ "first": MAX_ASSETS_OFFERED }),
        )
        .await?;
    Ok(data["assets"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|edge| {
                    let node = &edge["node"];
                    (
                        node["id"].as_str().unwrap_or_default().to_owned(),
                        node["code"].as_str().unwrap_or_default().to_owned(),
                        node["scale"]
                            .as_u64()
                            .and_then(|s| u8::try_from(s).ok())
                            .unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

pub(super) fn asset_select(
    name: &'static str,
    assets: &[(String, String, u8)],
    values: &Fields,
    errors: &Errors,
) -> Markup {
    let chosen = values.get(name).map(String::as_str).unwrap_or("");
    html! {
        label for=(name) { "Asset " span.req { "*" } }
        select id=(name) name=(name) required {
            option value="" { "Select an asset..." }
            @for (id, code, scale) in assets {
                option value=(id) selected[chosen == id] { (code) " (Scale: " (scale) ")" }
            }
        }
        @if let Some(message) = errors.get(name) {
            div.error data-for=(name) { (message) }
        }
    }
}

async fn create_form(State(d): State<Dashboard>, visit: Visit) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
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
        Err(error) => return ctx.failed("Create Peer", "/peers", &error),
    };
    ctx.render(
        "Create Peer",
        "/peers",
        html! {
            h1 { "Create Peer" }
            @if let Some(failure) = failure {
                div.flash.bad role="alert" { (failure) }
            }
            @if assets.is_empty() {
                dialog id="no-assets" data-open-now {
                    h2 { "Before You Continue" }
                    p { "Please note: you must have at least one asset before you can create a peer." }
                    div.actions { a.button href="/assets/create" { "Create Asset" } }
                }
            }
            form.card method="post" action="/peers/create" {
                (csrf(ctx.token()))
                div.section {
                    div { h2 { "General Information" } }
                    div {
                        (input("Name", "name", "text", false, values, errors))
                        (input("Static ILP Address", "staticIlpAddress", "text", true, values, errors))
                        (input("Max Packet Amount", "maxPacketAmount", "text", false, values, errors))
                    }
                }
                div.section {
                    div { h2 { "HTTP Information" } }
                    div {
                        (input("Incoming Auth Tokens", "incomingAuthTokens", "text", false, values, errors))
                        div.hint.muted { "Accepts a comma separated list of tokens." }
                        (input("Outgoing Auth Token", "outgoingAuthToken", "text", true, values, errors))
                        (input("Outgoing Endpoint", "outgoingEndpoint", "text", true, values, errors))
                    }
                }
                div.section {
                    div { h2 { "Asset Information" } }
                    div { (asset_select("asset", &assets, values, errors)) }
                }
                div.section {
                    div {
                        h2 { "Liquidity and Routing" }
                        p.hint { "peerlab's additions to Rafiki's form." }
                    }
                    div {
                        (input("Initial Liquidity", "initialLiquidity", "text", false, values, errors))
                        div.hint.muted { "In the asset's smallest unit (as the API takes it)." }
                        (input("Liquidity Threshold", "liquidityThreshold", "text", false, values, errors))
                        (input("Routes", "routes", "text", false, values, errors))
                        div.hint.muted { "ILP address prefixes reached through this peer, comma separated." }
                    }
                }
                div.actions { button type="submit" { "Create" } }
            }
        },
    )
}

async fn create(State(d): State<Dashboard>, visit: Visit, Form(fields): Form<Fields>) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let mut errors = Errors::default();
    let address = field(&fields, "staticIlpAddress");
    forms::check_address(&mut errors, "staticIlpAddress", address);
    let max_packet = forms::optional_u64(
        &mut errors,
        "maxPacketAmount",
        field(&fields, "maxPacketAmount"),
        forms::INVALID_MAX_PACKET,
    );
    let endpoint = field(&fields, "outgoingEndpoint");
    forms::check_endpoint(&mut errors, "outgoingEndpoint", endpoint);
    let asset = field(&fields, "asset");
    forms::check_uuid(&mut errors, "asset", asset, forms::INVALID_ASSET);
    let initial = forms::optional_u64(
        &mut errors,
        "initialLiquidity",
        field(&fields, "initialLiquidity"),
        "Initial liquidity is expected to be a whole number.",
    );
    let threshold = forms::optional_u64(
        &mut errors,
        "liquidityThreshold",
        field(&fields, "liquidityThreshold"),
        "Liquidity threshold is expected to be a whole number.",
    );
    if !errors.is_empty() {
        return create_page(&ctx, &fields, &errors, None).await;
    }
    let mut input = json!({
        "staticIlpAddress": address,
        "assetId": asset,
        "http": {
            "incoming": { "authTokens": forms::list(field(&fields, "incomingAuthTokens")) },
            "outgoing": { "authToken": field(&fields, "outgoingAuthToken"), "endpoint": endpoint },
        },
        "idempotencyKey": uuid::Uuid::new_v4().to_string(),
    });
    let name = field(&fields, "name");
    if !name.is_empty() {
        input["name"] = json!(name);
    }
    if let Some(max) = max_packet {
        input["maxPacketAmount"] = json!(max.to_string());
    }
    if let Some(initial) = initial {
        input["initialLiquidity"] = json!(initial.to_string());
    }
    if let Some(threshold) = threshold {
        input["liquidityThreshold"] = json!(threshold.to_string());
    }
    let routes = forms::list(field(&fields, "routes"));
    if !routes.is_empty() {
        input["routes"] = json!(routes);
    }
    let created = ctx
        .call(
            "mutation($input: CreatePeerInput!) { createPeer(input: $input) { success peer { id } } }",
            json!({ "input": input }),
        )
        .await;
    match created {
        Ok(data) => match data["createPeer"]["peer"]["id"].as_str() {
            Some(id) => redirect(&format!("/peers/{id}"), done("Peer created.")),
            None => redirect("/peers", done("Peer created.")),
        },
        Err(error) => {
            let failure = format!("Could not create peer. Please try again! ({error})");
            create_page(&ctx, &fields, &Errors::default(), Some(failure)).await
        }
    }
}

const PEER: &str = "query($id: String!) {
  peer(id: $id) {
    id name staticIlpAddress maxPacketAmount liquidity liquidityThreshold routes
    asset { id code scale withdrawalThreshold }
    http { outgoing { endpoint authToken } }
  }
}";

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

async fn details(State(d): State<Dashboard>, visit: Visit, Path(id): Path<String>) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    peer_page(&ctx, &id, &Errors::default()).await
}

async fn peer_page(ctx: &Ctx, id: &str, errors: &Errors) -> Response {
    let data = match ctx.call(PEER, json!({ "id": id })).await {
        Ok(data) if data["peer"].is_object() => data,
        Ok(_) => {
            return ctx.failed(
                "Peer",
                "/peers",
                &ApiError::Refused {
                    message: "Peer not found".into(),
                    code: "NOT_FOUND".into(),
                },
            );
        }
        Err(error) => return ctx.failed("Peer", "/peers", &error),
    };
    let peer = &data["peer"];
    let asset = &peer["asset"];
    let scale = asset["scale"]
        .as_u64()
        .and_then(|s| u8::try_from(s).ok())
        .unwrap_or(0);
    let code = asset["code"].as_str().unwrap_or_default();
    let liquidity = peer["liquidity"]
        .as_str()
        .and_then(|l| l.parse::<u64>().ok())
        .or_else(|| peer["liquidity"].as_u64())
        .unwrap_or(0);
    let pending = pending_withdrawals(ctx, id).await;
    let name = peer["name"].as_str().unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let general = Fields::from([
        ("name".to_owned(), name.to_owned()),
        (
            "staticIlpAddress".to_owned(),
            text(&peer["staticIlpAddress"]),
        ),
        ("maxPacketAmount".to_owned(), text(&peer["maxPacketAmount"])),
    ]);
    let http = Fields::from([
        (
            "outgoingAuthToken".to_owned(),
            text(&peer["http"]["outgoing"]["authToken"]),
        ),
        (
            "outgoingEndpoint".to_owned(),
            text(&peer["http"]["outgoing"]["endpoint"]),
        ),
    ]);
    let here = format!("/peers/{id}");
    ctx.render(
        "Peer",
        "/peers",
        html! {
            h1 { "Peer: " (if name.is_empty() { "No peer name" } else { name }) }
            div.card {
                form method="post" action={ (here) "/general" } {
                    (csrf(ctx.token()))
                    div.section {
                        div { h2 { "General Information" } }
                        div {
                            (read_only("Peer ID", "peerId", id))
                            (input("Name", "name", "text", false, &general, errors))
                            (input("Static ILP Address", "staticIlpAddress", "text", true, &general, errors))
                            (input("Max Packet Amount", "maxPacketAmount", "text", false, &general, errors))
                            div.actions { button type="submit" { "Save" } }
                        }
                    }
                }
                form method="post" action={ (here) "/http" } {
                    (csrf(ctx.token()))
                    div.section {
                        div { h2 { "HTTP Information" } }
                        div {
                            (input("Incoming Auth Tokens", "incomingAuthTokens", "text", false, &Fields::new(), errors))
                            div.hint.muted { "Accepts a comma separated list of tokens. Left blank, the current ones stay." }
                            (input("Outgoing Auth Token", "outgoingAuthToken", "password", true, &http, errors))
                            (input("Outgoing Endpoint", "outgoingEndpoint", "text", true, &http, errors))
                            div.actions { button type="submit" { "Save" } }
                        }
                    }
                }
                div.section {
                    div { h2 { "Asset Information" } }
                    div {
                        (read_only("Code", "assetCode", code))
                        (read_only("Scale", "assetScale", &scale.to_string()))
                        (read_only("Withdrawal threshold", "withdrawalThreshold", &text(&asset["withdrawalThreshold"])))
                        div.actions { a.button.secondary href={ "/assets/" (asset["id"].as_str().unwrap_or_default()) } { "View asset" } }
                    }
                }
                div.section {
                    div { h2 { "Liquidity Information" } }
                    div {
                        div.amount id="liquidity" { (forms::format_amount(liquidity, scale)) " " (code) }
                        div.muted { (liquidity) " at scale " (scale) }
                        div.actions {
                            button type="button" data-open="deposit" { "Deposit liquidity" }
                            button.secondary type="button" data-open="withdraw" { "Withdraw liquidity" }
                        }
                    }
                }
                (pending_section(ctx, &pending, scale, code, &here))
            }
            div.card {
                h2 { "Delete Peer" }
                p.muted { "Deleting the peer removes it and its tokens; packets from it are refused." }
                button.danger type="button" data-open="delete" { "Delete peer" }
            }
            (liquidity_dialog(ctx, "deposit", "Deposit peer liquidity", code, &format!("{here}/deposit"), false))
            (liquidity_dialog(ctx, "withdraw", "Withdraw peer liquidity", code, &format!("{here}/withdraw"), true))
            dialog id="delete" {
                form method="post" action={ (here) "/delete" } {
                    (csrf(ctx.token()))
                    h2 { "Delete Peer" }
                    p { "To confirm, type "
                        strong { (if name.is_empty() { "delete peer" } else { name }) }
                        " below." }
                    label for="confirm" { "Confirmation" }
                    input id="confirm" name="confirm" type="text" autocomplete="off" required;
                    div.actions {
                        button.secondary type="button" data-close { "Cancel" }
                        button.danger type="submit" { "Delete this peer" }
                    }
                }
            }
        },
    )
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

/// The peer's asset scale, code and name, for actions that need them.
async fn peer_facts(ctx: &Ctx, id: &str) -> Result<(u8, String, String), ApiError> {
    let data = ctx
        .call(
            "query($id: String!) { peer(id: $id) { name asset { code scale } } }",
            json!({ "id": id }),
        )
        .await?;
    let peer = &data["peer"];
    if !peer.is_object() {
        return Err(ApiError::Refused {
            message: "Peer not found".into(),
            code: "NOT_FOUND".into(),
        });
    }
    Ok((
        peer["asset"]["scale"]
            .as_u64()
            .and_then(|s| u8::try_from(s).ok())
            .unwrap_or(0),
        peer["asset"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        peer["name"].as_str().unwrap_or_default().to_owned(),
    ))
}

async fn update_general(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let mut errors = Errors::default();
    let address = field(&fields, "staticIlpAddress");
    forms::check_address(&mut errors, "staticIlpAddress", address);
    let max_packet = forms::optional_u64(
        &mut errors,
        "maxPacketAmount",
        field(&fields, "maxPacketAmount"),
        forms::INVALID_MAX_PACKET,
    );
    let back = format!("/peers/{id}");
    if !errors.is_empty() {
        let message = errors.0.values().cloned().collect::<Vec<_>>().join(" ");
        return redirect(&back, refused(message));
    }
    let mut input =
        json!({ "id": id, "name": field(&fields, "name"), "staticIlpAddress": address });
    if let Some(max) = max_packet {
        input["maxPacketAmount"] = json!(max.to_string());
    }
    update(&ctx, &back, input).await
}

async fn update_http(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let mut errors = Errors::default();
    let endpoint = field(&fields, "outgoingEndpoint");
    forms::check_endpoint(&mut errors, "outgoingEndpoint", endpoint);
    let back = format!("/peers/{id}");
    if !errors.is_empty() {
        return redirect(&back, refused(forms::INVALID_ENDPOINT));
    }
    let mut http = json!({
        "outgoing": { "authToken": field(&fields, "outgoingAuthToken"), "endpoint": endpoint },
    });
    let incoming = forms::list(field(&fields, "incomingAuthTokens"));
    if !incoming.is_empty() {
        http["incoming"] = json!({ "authTokens": incoming });
    }
    update(&ctx, &back, json!({ "id": id, "http": http })).await
}

async fn update(ctx: &Ctx, back: &str, input: Value) -> Response {
    let updated = ctx
        .call(
            "mutation($input: UpdatePeerInput!) { updatePeer(input: $input) { success peer { id } } }",
            json!({ "input": input }),
        )
        .await;
    match updated {
        Ok(_) => redirect(back, done("Peer information was updated.")),
        Err(error) => redirect(
            back,
            refused(format!(
                "Could not update peer. Please try again! ({error})"
            )),
        ),
    }
}

/// The amount a liquidity dialog asked for, at `scale`, or the message saying why not.
pub(super) fn dialog_amount(fields: &Fields, scale: u8) -> Result<u64, &'static str> {
    forms::amount_at_scale(field(fields, "displayAmount"), scale)
}

async fn deposit(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let back = format!("/peers/{id}");
    let (scale, _, _) = match peer_facts(&ctx, &id).await {
        Ok(facts) => facts,
        Err(error) => return redirect("/peers", refused(error.to_string())),
    };
    let amount = match dialog_amount(&fields, scale) {
        Ok(amount) => amount,
        Err(message) => return redirect(&back, refused(message)),
    };
    let input = json!({
        "peerId": id,
        "amount": amount.to_string(),
        "id": uuid::Uuid::new_v4().to_string(),
        "idempotencyKey": uuid::Uuid::new_v4().to_string(),
    });
    let deposited = ctx
        .call(
            "mutation($input: DepositPeerLiquidityInput!) { depositPeerLiquidity(input: $input) { success } }",
            json!({ "input": input }),
        )
        .await;
    liquidity_outcome(&back, deposited, "Deposited peer liquidity.")
}

pub(super) fn liquidity_outcome(
    back: &str,
    outcome: Result<Value, ApiError>,
    success: &str,
) -> Response {
    match outcome {
        Ok(_) => redirect(back, done(success)),
        Err(ApiError::Refused { message, .. }) => redirect(
            back,
            refused(format!("{} ({message})", forms::AMOUNT_INVALID)),
        ),
        Err(error) => redirect(back, refused(error.to_string())),
    }
}

/// The withdrawal's `timeoutSeconds`: 0 (single-phase, as Rafiki's dashboard withdraws) unless
/// two phases were asked for; then the timeout given, or none.
pub(super) fn withdrawal_timeout(fields: &Fields) -> Result<Option<u64>, &'static str> {
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

async fn withdraw(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let back = format!("/peers/{id}");
    let (scale, _, _) = match peer_facts(&ctx, &id).await {
        Ok(facts) => facts,
        Err(error) => return redirect("/peers", refused(error.to_string())),
    };
    let amount = match dialog_amount(&fields, scale) {
        Ok(amount) => amount,
        Err(message) => return redirect(&back, refused(message)),
    };
    let timeout = match withdrawal_timeout(&fields) {
        Ok(timeout) => timeout,
        Err(message) => return redirect(&back, refused(message)),
    };
    let mut input = json!({
        "peerId": id,
        "amount": amount.to_string(),
        "id": uuid::Uuid::new_v4().to_string(),
        "idempotencyKey": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(seconds) = timeout {
        input["timeoutSeconds"] = json!(seconds.to_string());
    }
    let withdrawn = ctx
        .call(
            "mutation($input: CreatePeerLiquidityWithdrawalInput!) { createPeerLiquidityWithdrawal(input: $input) { success } }",
            json!({ "input": input }),
        )
        .await;
    let success = if timeout == Some(0) {
        "Withdrew peer liquidity."
    } else {
        "Created a two-phase withdrawal: post or void it below."
    };
    liquidity_outcome(&back, withdrawn, success)
}

async fn delete(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let back = format!("/peers/{id}");
    let (_, _, name) = match peer_facts(&ctx, &id).await {
        Ok(facts) => facts,
        Err(error) => return redirect("/peers", refused(error.to_string())),
    };
    let expected = if name.is_empty() {
        "delete peer"
    } else {
        &name
    };
    if field(&fields, "confirm") != expected {
        return redirect(
            &back,
            refused(format!(
                "The peer was not deleted: type \"{expected}\" to confirm."
            )),
        );
    }
    let deleted = ctx
        .call(
            "mutation($input: DeletePeerInput!) { deletePeer(input: $input) { success } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    match deleted {
        Ok(_) => redirect("/peers", done("Peer was deleted.")),
        Err(error) => redirect(
            &back,
            refused(format!(
                "Could not delete peer. Please try again! ({error})"
            )),
        ),
    }
}

async fn post_withdrawal(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    resolve_withdrawal(d, visit, id, fields, true).await
}

async fn void_withdrawal(
    State(d): State<Dashboard>,
    visit: Visit,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    resolve_withdrawal(d, visit, id, fields, false).await
}

async fn resolve_withdrawal(
    d: Dashboard,
    visit: Visit,
    id: String,
    fields: Fields,
    post: bool,
) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
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

async fn by_url_form(State(d): State<Dashboard>, visit: Visit) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    by_url_page(&ctx, &Fields::new(), &Errors::default(), None).await
}

async fn by_url_page(
    ctx: &Ctx,
    values: &Fields,
    errors: &Errors,
    failure: Option<String>,
) -> Response {
    let assets = match assets(ctx).await {
        Ok(assets) => assets,
        Err(error) => return ctx.failed("Peer by URL", "/peers/by-url", &error),
    };
    ctx.render(
        "Peer by URL",
        "/peers/by-url",
        html! {
            h1 { "Peer by URL" }
            p.muted { "Auto-peering: the other instance's auto-peering URL is enough. Addresses, connector URLs and tokens are exchanged, and both sides get a peer." }
            @if let Some(failure) = failure {
                div.flash.bad role="alert" { (failure) }
            }
            form.card method="post" action="/peers/by-url" {
                (csrf(ctx.token()))
                (input("Peer URL", "peerUrl", "text", true, values, errors))
                (asset_select("asset", &assets, values, errors))
                (input("Name", "name", "text", false, values, errors))
                (input("Max Packet Amount", "maxPacketAmount", "text", false, values, errors))
                (input("Liquidity to deposit", "liquidityToDeposit", "text", false, values, errors))
                div.hint.muted { "In the asset's unit (12.34), converted by its scale." }
                div.actions { button type="submit" { "Peer" } }
            }
        },
    )
}

async fn by_url(State(d): State<Dashboard>, visit: Visit, Form(fields): Form<Fields>) -> Response {
    let ctx = match d.enter(visit) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let mut errors = Errors::default();
    let url = field(&fields, "peerUrl");
    if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        errors.add("peerUrl", "Invalid peer URL.");
    }
    let asset = field(&fields, "asset");
    forms::check_uuid(&mut errors, "asset", asset, forms::INVALID_ASSET);
    let max_packet = forms::optional_u64(
        &mut errors,
        "maxPacketAmount",
        field(&fields, "maxPacketAmount"),
        forms::INVALID_MAX_PACKET,
    );
    let scale = match assets(&ctx).await {
        Ok(assets) => assets
            .iter()
            .find(|(id, _, _)| id == asset)
            .map(|(_, _, scale)| *scale),
        Err(error) => return ctx.failed("Peer by URL", "/peers/by-url", &error),
    };
    let deposit = match (field(&fields, "liquidityToDeposit"), scale) {
        ("", _) | (_, None) => None,
        (typed, Some(scale)) => match forms::amount_at_scale(typed, scale) {
            Ok(amount) => Some(amount),
            Err(message) => {
                errors.add("liquidityToDeposit", message);
                None
            }
        },
    };
    if !errors.is_empty() {
        return by_url_page(&ctx, &fields, &errors, None).await;
    }
    let mut input = json!({
        "peerUrl": url,
        "assetId": asset,
        "idempotencyKey": uuid::Uuid::new_v4().to_string(),
    });
    let name = field(&fields, "name");
    if !name.is_empty() {
        input["name"] = json!(name);
    }
    if let Some(max) = max_packet {
        input["maxPacketAmount"] = json!(max.to_string());
    }
    if let Some(amount) = deposit {
        input["liquidityToDeposit"] = json!(amount.to_string());
    }
    let peered = ctx
        .call(
            "mutation($input: CreateOrUpdatePeerByUrlInput!) { createOrUpdatePeerByUrl(input: $input) { success peer { id } } }",
            json!({ "input": input }),
        )
        .await;
    match peered {
        Ok(data) => match data["createOrUpdatePeerByUrl"]["peer"]["id"].as_str() {
            Some(id) => redirect(
                &format!("/peers/{id}"),
                done(format!("Peered by URL with {url}.")),
            ),
            None => redirect("/peers", done(format!("Peered by URL with {url}."))),
        },
        Err(error) => {
            let failure = format!("Could not peer by URL: {error}");
            by_url_page(&ctx, &fields, &Errors::default(), Some(failure)).await
        }
    }
}
