//! The Admin Dashboard every instance serves on its admin port (`GET /`): Rafiki's Peers and
//! Assets pages, with their fields, labels and messages, and what peerlab's users rehearse beyond
//! them (two-phase withdrawals posted or voided, initial liquidity and routes, peering by URL,
//! wallet addresses, payments).
//!
//! A thin skin: every page reads and every form changes the instance through its own admin
//! GraphQL API ([`api`]), as Rafiki's dashboard does server-side, signed with the credentials the
//! operator saved on the home page when the instance requires them. Pages are built on the server
//! ([`layout`]); a form posts to the server, which answers with a redirect and a flash message,
//! or the form again with its errors. Nothing is fetched from elsewhere: it works offline.

// A handler's early exit is the response it sends (a redirect, a refusal): returned by value as
// axum takes it; boxing it would only add an allocation to every such exit.
#![allow(clippy::result_large_err)]

pub mod api;
mod assets;
pub mod forms;
pub mod layout;
mod liquidity;
mod peers;
pub mod session;
mod wallets;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::admin::http::AdminService;
use api::{ApiError, Credentials};
use forms::{Errors, Fields, field};
use layout::{Identity, csrf, input};
use session::{Flash, Sessions, Visit};

/// Largest form body: far above any form here.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The dashboard of one instance.
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

struct Inner {
    service: AdminService,
    sessions: Sessions,
    identity: Identity,
}

impl Dashboard {
    pub fn new(service: AdminService, identity: Identity) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                sessions: Sessions::default(),
                identity,
            }),
        }
    }

    /// Whether the instance's admin API asks for credentials (an API secret or a tenant).
    fn needs_credentials(&self) -> bool {
        self.inner.service.requires_signature() || self.inner.service.requires_tenant()
    }

    /// The request's context, or the redirect to the home page when credentials are needed and
    /// none were saved.
    fn enter(&self, visit: Visit) -> Result<Ctx, Response> {
        let credentials = match visit.credentials(&self.inner.sessions) {
            Some(credentials) => credentials,
            None if self.needs_credentials() => {
                return Err(redirect(
                    "/",
                    Some(Flash {
                        success: false,
                        text: "Enter the instance's Tenant ID and API Secret first.".into(),
                    }),
                ));
            }
            None => Credentials::default(),
        };
        Ok(Ctx {
            dashboard: self.clone(),
            visit,
            credentials,
        })
    }
}

/// One request's view of the dashboard: who asks, with which credentials.
pub(crate) struct Ctx {
    dashboard: Dashboard,
    visit: Visit,
    credentials: Credentials,
}

impl Ctx {
    /// Runs a GraphQL operation on the instance's admin API as this operator.
    async fn call(&self, query: &str, variables: Value) -> Result<Value, ApiError> {
        api::call(
            &self.dashboard.inner.service,
            &self.credentials,
            query,
            variables,
        )
        .await
    }

    fn token(&self) -> &str {
        &self.visit.csrf
    }

    /// A page, with the cookies the visit needs set.
    fn render(&self, title: &str, here: &str, content: Markup) -> Response {
        self.render_refreshing(title, here, None, StatusCode::OK, content)
    }

    fn render_refreshing(
        &self,
        title: &str,
        here: &str,
        refresh_seconds: Option<u32>,
        status: StatusCode,
        content: Markup,
    ) -> Response {
        let markup = layout::page(
            &self.dashboard.inner.identity,
            title,
            here,
            self.visit.flash.as_ref(),
            refresh_seconds,
            content,
        );
        let mut response = (status, markup).into_response();
        for cookie in self.visit.page_cookies() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    /// A page saying what went wrong reading it.
    fn failed(&self, title: &str, here: &str, error: &ApiError) -> Response {
        let status = match error {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_GATEWAY,
        };
        self.render_refreshing(
            title,
            here,
            None,
            status,
            html! {
                h1 { (title) }
                div.flash.bad { "The admin API refused: " (error.to_string()) }
                @if matches!(error, ApiError::Unauthorized(_)) {
                    p { a href="/" { "Check the credentials on the Home page." } }
                }
            },
        )
    }

    /// Refuses a form that did not come from one of the dashboard's pages.
    fn check_form(&self, fields: &Fields) -> Result<(), Response> {
        if self
            .visit
            .form_is_ours(fields.get("_csrf").map(String::as_str))
        {
            return Ok(());
        }
        Err((
            StatusCode::FORBIDDEN,
            "This form did not come from this dashboard (or the page is too old): reload the page and send it again.",
        )
            .into_response())
    }
}

/// A page's context: refused with the redirect to the home page when credentials are needed
/// and none were saved.
impl FromRequestParts<Dashboard> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        dashboard: &Dashboard,
    ) -> Result<Self, Response> {
        dashboard.enter(Visit::from_headers(&parts.headers))
    }
}

/// A form sent from one of the dashboard's own pages, and the request's context: a form without
/// the page's token is refused here, before any handler sees it.
pub(crate) struct Submitted {
    ctx: Ctx,
    fields: Fields,
}

impl FromRequest<Dashboard> for Submitted {
    type Rejection = Response;

    async fn from_request(request: Request, dashboard: &Dashboard) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, dashboard).await?;
        let Form(fields) = Form::<Fields>::from_request(Request::from_parts(parts, body), &())
            .await
            .map_err(IntoResponse::into_response)?;
        ctx.check_form(&fields)?;
        Ok(Submitted { ctx, fields })
    }
}

/// Rafiki's lists show this many rows a page.
pub(crate) const PAGE_SIZE: u32 = 20;

/// A list page's position: `?after=` or `?before=` a cursor, as Rafiki's lists page.
#[derive(Debug, serde::Deserialize, Default)]
pub(crate) struct Cursor {
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

/// One of Rafiki's list pages: its title and sidebar entry, the button beside the title, the
/// columns, and what it says when the list is empty.
pub(crate) struct ListPage {
    pub title: &'static str,
    pub path: &'static str,
    pub button: (&'static str, &'static str),
    pub columns: &'static [&'static str],
    pub empty: &'static str,
}

impl Ctx {
    /// Reads a page of the connection `field` with `query` and shows it as `page` says, a row
    /// per node drawn by `row`, with Previous / Next.
    async fn list_page(
        &self,
        page: ListPage,
        query: &str,
        field: &str,
        cursor: &Cursor,
        row: impl Fn(&Value) -> Markup,
    ) -> Response {
        let data = match self.call(query, cursor.variables()).await {
            Ok(data) => data,
            Err(error) => return self.failed(page.title, page.path, &error),
        };
        let connection = &data[field];
        let edges = connection["edges"].as_array().cloned().unwrap_or_default();
        self.render(
            page.title,
            page.path,
            html! {
                div style="display:flex;justify-content:space-between;align-items:center" {
                    h1 { (page.title) }
                    a.button href=(page.button.0) { (page.button.1) }
                }
                table {
                    thead { tr { @for column in page.columns { th { (column) } } } }
                    tbody {
                        @if edges.is_empty() {
                            tr { td colspan=(page.columns.len()) style="text-align:center" { (page.empty) } }
                        }
                        @for edge in &edges { (row(&edge["node"])) }
                    }
                }
                (layout::pager(page.path, &connection["pageInfo"]))
            },
        )
    }
}

/// A 303 to `to`, leaving `flash` for the page it leads to.
fn redirect(to: &str, flash: Option<Flash>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(flash) = flash {
        response
            .headers_mut()
            .append(header::SET_COOKIE, session::flash_cookie(&flash));
    }
    response
}

fn done(text: impl Into<String>) -> Option<Flash> {
    Some(Flash {
        success: true,
        text: text.into(),
    })
}

fn refused(text: impl Into<String>) -> Option<Flash> {
    Some(Flash {
        success: false,
        text: text.into(),
    })
}

/// The dashboard's routes, to be merged into the admin port's router.
pub fn router(dashboard: Dashboard) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/credentials", post(save_credentials))
        .route("/credentials/forget", post(forget_credentials))
        .merge(peers::routes())
        .merge(assets::routes())
        .merge(liquidity::routes())
        .merge(wallets::routes())
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(dashboard)
}

async fn home(State(dashboard): State<Dashboard>, visit: Visit) -> Response {
    let saved = visit.credentials(&dashboard.inner.sessions).is_some();
    let ctx = Ctx {
        dashboard: dashboard.clone(),
        credentials: Credentials::default(),
        visit,
    };
    home_page(&ctx, saved, &Fields::new(), &Errors::default())
}

fn home_page(ctx: &Ctx, saved: bool, values: &Fields, errors: &Errors) -> Response {
    let needs = ctx.dashboard.needs_credentials();
    let identity = &ctx.dashboard.inner.identity;
    let content = html! {
        h1 { "Welcome to the Admin Dashboard" }
        div.card {
            p {
                "This is " strong { (identity.name) } ", a peerlab instance at "
                span.mono { (identity.ilp_address) } ". Manage its "
                a href="/assets" { "assets" } " and " a href="/peers" { "peers" }
                ", deposit and withdraw liquidity, peer by URL, create wallet addresses and send payments."
            }
        }
        @if needs {
            div.card {
                h2 { "API credentials" }
                @if saved {
                    p { "Credentials are saved for this browser session; requests are signed with them." }
                    form method="post" action="/credentials/forget" {
                        (csrf(ctx.token()))
                        div.actions { button.secondary type="submit" { "Clear Credentials" } }
                    }
                } @else {
                    p.muted { "This instance's admin API requires them: requests are signed with the API secret and name the tenant." }
                    form method="post" action="/credentials" {
                        (csrf(ctx.token()))
                        (input("Tenant ID", "tenantId", "text", ctx.dashboard.inner.service.requires_tenant(), values, errors))
                        (input("API Secret", "apiSecret", "password", ctx.dashboard.inner.service.requires_signature(), values, errors))
                        @if let Some(message) = errors.get("credentials") {
                            div.error { (message) }
                        }
                        div.actions { button type="submit" { "Save Credentials" } }
                    }
                }
            }
        }
    };
    ctx.render("Home", "/", content)
}

async fn save_credentials(
    State(dashboard): State<Dashboard>,
    visit: Visit,
    Form(fields): Form<Fields>,
) -> Response {
    let ctx = Ctx {
        dashboard: dashboard.clone(),
        credentials: Credentials::default(),
        visit,
    };
    if let Err(refusal) = ctx.check_form(&fields) {
        return refusal;
    }
    let non_empty = |name: &str| Some(field(&fields, name).to_owned()).filter(|v| !v.is_empty());
    let credentials = Credentials {
        tenant_id: non_empty("tenantId"),
        secret: non_empty("apiSecret"),
    };
    // Tried at once, so that a wrong secret is said here and not on every page after.
    let tried = api::call(
        &dashboard.inner.service,
        &credentials,
        "{ __typename }",
        json!({}),
    )
    .await;
    if let Err(error) = tried {
        let mut errors = Errors::default();
        errors.add(
            "credentials",
            format!("These credentials were refused: {error}"),
        );
        let mut values = fields.clone();
        values.remove("apiSecret");
        return home_page(&ctx, false, &values, &errors);
    }
    let id = dashboard.inner.sessions.save(credentials);
    let mut response = redirect("/", done("Credentials saved."));
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::session_cookie(&id));
    response
}

async fn forget_credentials(
    State(dashboard): State<Dashboard>,
    visit: Visit,
    Form(fields): Form<Fields>,
) -> Response {
    if !visit.form_is_ours(fields.get("_csrf").map(String::as_str)) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Some(id) = &visit.session_id {
        dashboard.inner.sessions.forget(id);
    }
    let mut response = redirect("/", done("Credentials cleared."));
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::session_removal());
    response
}

/// A path inside the dashboard to go back to after an action, or `fallback`.
fn local_path(candidate: &str, fallback: &str) -> String {
    let safe = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_?=&.".contains(&b));
    if safe {
        candidate.to_owned()
    } else {
        fallback.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_back() {
        assert_eq!(local_path("/peers/abc", "/"), "/peers/abc");
        assert_eq!(local_path("//evil.example/x", "/"), "/");
        assert_eq!(local_path("https://evil.example", "/"), "/");
        assert_eq!(local_path("/peers/<x>", "/"), "/");
    }
}
