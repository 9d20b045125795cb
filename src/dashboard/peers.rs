//! Rafiki's Peers pages (list, Create Peer, peer details with its liquidity dialogs and delete),
//! with peerlab's additions: initial liquidity, routes and a threshold on Create Peer, two-phase
//! withdrawals posted or voided, and Peer by URL (auto-peering).

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::api::ApiError;
use super::forms::{self, Errors, Fields, field};
use super::layout::{csrf, input, read_only};
use super::liquidity::{self, Account, liquidity_dialog, pending_section, pending_withdrawals};
use super::{Ctx, Cursor, Dashboard, ListPage, Submitted, done, redirect, refused};

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
}

/// The assets offered in a select: a sandbox has a handful.
const MAX_ASSETS_OFFERED: u32 = 100;

const PEERS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  peers(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { node { id name staticIlpAddress asset { code scale } http { outgoing { endpoint } } } }
  }
}";

async fn list(ctx: Ctx, Query(cursor): Query<Cursor>) -> Response {
    let page = ListPage {
        title: "Peers",
        path: "/peers",
        button: ("/peers/create", "Create peer"),
        columns: &["Name", "ILP Address", "Asset", "Outgoing HTTP Endpoint"],
        empty: "No peers found.",
    };
    ctx.list_page(page, PEERS, "peers", &cursor, |peer| {
        let id = peer["id"].as_str().unwrap_or_default();
        html! {
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
    })
    .await
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

async fn create(Submitted { ctx, fields }: Submitted) -> Response {
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

async fn details(ctx: Ctx, Path(id): Path<String>) -> Response {
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

async fn update_general(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
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

async fn update_http(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
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

async fn deposit(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    match peer_account(&ctx, &id).await {
        Ok(account) => liquidity::deposit(&ctx, &fields, &account).await,
        Err(response) => response,
    }
}

async fn withdraw(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    match peer_account(&ctx, &id).await {
        Ok(account) => liquidity::withdraw(&ctx, &fields, &account).await,
        Err(response) => response,
    }
}

/// The peer's liquidity account, or the way back to the list when there is no such peer.
async fn peer_account(ctx: &Ctx, id: &str) -> Result<Account, Response> {
    match peer_facts(ctx, id).await {
        Ok((scale, _, _)) => Ok(Account::peer(id, scale)),
        Err(error) => Err(redirect("/peers", refused(error.to_string()))),
    }
}

async fn delete(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
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

async fn by_url_form(ctx: Ctx) -> Response {
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

async fn by_url(Submitted { ctx, fields }: Submitted) -> Response {
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
