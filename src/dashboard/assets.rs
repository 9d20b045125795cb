//! Rafiki's Assets pages: the list, Add asset (its code and scale rules), and an asset's page with
//! its withdrawal threshold, its own liquidity (deposit, withdrawal, two-phase ones posted or
//! voided) and delete.

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use super::api::ApiError;
use super::forms::{self, Errors, Fields, field};
use super::layout::{csrf, input, read_only};
use super::liquidity::{self, Account, liquidity_dialog, pending_section, pending_withdrawals};
use super::{Ctx, Cursor, Dashboard, ListPage, Submitted, done, redirect, refused};

pub(super) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/assets", get(list))
        .route("/assets/create", get(create_form).post(create))
        .route("/assets/{id}", get(details))
        .route("/assets/{id}/general", post(update))
        .route("/assets/{id}/deposit", post(deposit))
        .route("/assets/{id}/withdraw", post(withdraw))
        .route("/assets/{id}/delete", post(delete))
}

const ASSETS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  assets(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { node { id code scale withdrawalThreshold } }
  }
}";

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

async fn list(ctx: Ctx, Query(cursor): Query<Cursor>) -> Response {
    let page = ListPage {
        title: "Assets",
        path: "/assets",
        button: ("/assets/create", "Add asset"),
        columns: &["ID", "Code", "Scale", "Withdrawal threshold"],
        empty: "No assets found.",
    };
    ctx.list_page(page, ASSETS, "assets", &cursor, |asset| {
        let id = asset["id"].as_str().unwrap_or_default();
        html! {
            tr.link data-href={ "/assets/" (id) } {
                td.mono { a href={ "/assets/" (id) } { (id) } }
                td { (asset["code"].as_str().unwrap_or_default()) }
                td { (text(&asset["scale"])) }
                td { @match text(&asset["withdrawalThreshold"]) {
                    t if t.is_empty() => { span.muted { "No withdrawal threshold" } },
                    t => { (t) },
                } }
            }
        }
    })
    .await
}

async fn create_form(ctx: Ctx) -> Response {
    create_page(&ctx, &Fields::new(), &Errors::default(), None)
}

fn create_page(ctx: &Ctx, values: &Fields, errors: &Errors, failure: Option<String>) -> Response {
    ctx.render(
        "Create Asset",
        "/assets",
        html! {
            h1 { "Create Asset" }
            @if let Some(failure) = failure {
                div.flash.bad role="alert" { (failure) }
            }
            form.card method="post" action="/assets/create" {
                (csrf(ctx.token()))
                div.section {
                    div { h2 { "General Information" } }
                    div {
                        (input("Code", "code", "text", true, values, errors))
                        (input("Scale", "scale", "text", true, values, errors))
                        (input("Withdrawal Threshold", "withdrawalThreshold", "text", false, values, errors))
                    }
                }
                div.actions { button type="submit" { "Create" } }
            }
        },
    )
}

async fn create(Submitted { ctx, fields }: Submitted) -> Response {
    let mut errors = Errors::default();
    let code = forms::asset_code(&mut errors, field(&fields, "code"));
    let scale = forms::asset_scale(&mut errors, field(&fields, "scale"));
    let threshold = forms::optional_u64(
        &mut errors,
        "withdrawalThreshold",
        field(&fields, "withdrawalThreshold"),
        "Withdrawal threshold is expected to be a number.",
    );
    if !errors.is_empty() {
        return create_page(&ctx, &fields, &errors, None);
    }
    let mut input =
        json!({ "code": code, "scale": scale, "idempotencyKey": uuid::Uuid::new_v4().to_string() });
    if let Some(threshold) = threshold {
        input["withdrawalThreshold"] = json!(threshold.to_string());
    }
    let created = ctx
        .call(
            "mutation($input: CreateAssetInput!) { createAsset(input: $input) { success asset { id } } }",
            json!({ "input": input }),
        )
        .await;
    match created {
        Ok(data) => match data["createAsset"]["asset"]["id"].as_str() {
            Some(id) => redirect(&format!("/assets/{id}"), done("Asset created.")),
            None => redirect("/assets", done("Asset created.")),
        },
        Err(error) => create_page(
            &ctx,
            &fields,
            &Errors::default(),
            Some(format!(
                "Could not create asset. Please try again! ({error})"
            )),
        ),
    }
}

const ASSET: &str = "query($id: String!) {
  asset(id: $id) { id code scale liquidity withdrawalThreshold liquidityThreshold createdAt }
}";

async fn asset_facts(ctx: &Ctx, id: &str) -> Result<Value, ApiError> {
    let data = ctx.call(ASSET, json!({ "id": id })).await?;
    if data["asset"].is_object() {
        Ok(data["asset"].clone())
    } else {
        Err(ApiError::Refused {
            message: "Asset not found".into(),
            code: "NOT_FOUND".into(),
        })
    }
}

fn scale_of(asset: &Value) -> u8 {
    asset["scale"]
        .as_u64()
        .and_then(|s| u8::try_from(s).ok())
        .unwrap_or(0)
}

async fn details(ctx: Ctx, Path(id): Path<String>) -> Response {
    let asset = match asset_facts(&ctx, &id).await {
        Ok(asset) => asset,
        Err(error) => return ctx.failed("Asset", "/assets", &error),
    };
    let scale = scale_of(&asset);
    let code = asset["code"].as_str().unwrap_or_default().to_owned();
    let liquidity = text(&asset["liquidity"]).parse::<u64>().unwrap_or(0);
    let pending = pending_withdrawals(&ctx, &id).await;
    let values = Fields::from([(
        "withdrawalThreshold".to_owned(),
        text(&asset["withdrawalThreshold"]),
    )]);
    let here = format!("/assets/{id}");
    ctx.render(
        "Asset",
        "/assets",
        html! {
            h1 { "Asset: " (code) }
            div.card {
                form method="post" action={ (here) "/general" } {
                    (csrf(ctx.token()))
                    div.section {
                        div { h2 { "General Information" } }
                        div {
                            (read_only("Asset ID", "assetId", &id))
                            (read_only("Code", "code", &code))
                            (read_only("Scale", "scale", &scale.to_string()))
                            (input("Withdrawal Threshold", "withdrawalThreshold", "text", false, &values, &Errors::default()))
                            div.actions { button type="submit" { "Save" } }
                        }
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
                (pending_section(&ctx, &pending, scale, &code, &here))
            }
            div.card {
                h2 { "Delete Asset" }
                p.muted { "An asset in use by a peer or a wallet address cannot be deleted." }
                button.danger type="button" data-open="delete" { "Delete asset" }
            }
            (liquidity_dialog(&ctx, "deposit", "Deposit asset liquidity", &code, &format!("{here}/deposit"), false))
            (liquidity_dialog(&ctx, "withdraw", "Withdraw asset liquidity", &code, &format!("{here}/withdraw"), true))
            dialog id="delete" {
                form method="post" action={ (here) "/delete" } {
                    (csrf(ctx.token()))
                    h2 { "Delete Asset" }
                    p { "To confirm, type " strong { "delete asset" } " below." }
                    label for="confirm" { "Confirmation" }
                    input id="confirm" name="confirm" type="text" autocomplete="off" required;
                    div.actions {
                        button.secondary type="button" data-close { "Cancel" }
                        button.danger type="submit" { "Delete this asset" }
                    }
                }
            }
        },
    )
}

async fn update(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    let back = format!("/assets/{id}");
    let mut errors = Errors::default();
    let threshold = forms::optional_u64(
        &mut errors,
        "withdrawalThreshold",
        field(&fields, "withdrawalThreshold"),
        "Withdrawal threshold is expected to be a number.",
    );
    if let Some(message) = errors.get("withdrawalThreshold") {
        return redirect(&back, refused(message));
    }
    let mut input = json!({ "id": id });
    if let Some(threshold) = threshold {
        input["withdrawalThreshold"] = json!(threshold.to_string());
    }
    let updated = ctx
        .call(
            "mutation($input: UpdateAssetInput!) { updateAsset(input: $input) { success asset { id } } }",
            json!({ "input": input }),
        )
        .await;
    match updated {
        Ok(_) => redirect(&back, done("Asset information was updated.")),
        Err(error) => redirect(
            &back,
            refused(format!(
                "Could not update asset. Please try again! ({error})"
            )),
        ),
    }
}

async fn deposit(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    match asset_account(&ctx, &id).await {
        Ok(account) => liquidity::deposit(&ctx, &fields, &account).await,
        Err(response) => response,
    }
}

async fn withdraw(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    match asset_account(&ctx, &id).await {
        Ok(account) => liquidity::withdraw(&ctx, &fields, &account).await,
        Err(response) => response,
    }
}

/// The asset's liquidity account, or the way back to the list when there is no such asset.
async fn asset_account(ctx: &Ctx, id: &str) -> Result<Account, Response> {
    match asset_facts(ctx, id).await {
        Ok(asset) => Ok(Account::asset(id, scale_of(&asset))),
        Err(error) => Err(redirect("/assets", refused(error.to_string()))),
    }
}

async fn delete(Path(id): Path<String>, Submitted { ctx, fields }: Submitted) -> Response {
    let back = format!("/assets/{id}");
    if field(&fields, "confirm") != "delete asset" {
        return redirect(
            &back,
            refused("The asset was not deleted: type \"delete asset\" to confirm."),
        );
    }
    let deleted = ctx
        .call(
            "mutation($input: DeleteAssetInput!) { deleteAsset(input: $input) { success asset { id } } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    match deleted {
        Ok(_) => redirect("/assets", done("Asset was deleted.")),
        Err(error) => redirect(
            &back,
            refused(format!(
                "Could not delete asset. Please try again! ({error})"
            )),
        ),
    }
}
