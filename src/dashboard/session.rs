//! Who is looking at the dashboard: their saved credentials (kept in memory here, never in a
//! cookie), the token that proves a form was sent from one of the dashboard's own pages, and the
//! message the last action left for the next page.
//!
//! Forms are the classic cross-site request: a page elsewhere can make a browser POST them. Every
//! dashboard form therefore carries a token equal to a `SameSite=Strict` cookie (a page on another
//! site can neither read the cookie nor make the browser send it), and a POST without the match is
//! refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use super::api::Credentials;

const SESSION_COOKIE: &str = "peerlab_session";
const CSRF_COOKIE: &str = "peerlab_csrf";
const FLASH_COOKIE: &str = "peerlab_flash";
/// Sessions kept at once: the oldest goes when a new one would exceed it.
const MAX_SESSIONS: usize = 1024;
/// A session unused this long is forgotten.
const SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);

/// Saved credentials by session id.
#[derive(Default)]
pub struct Sessions {
    saved: Mutex<HashMap<String, (Credentials, Instant)>>,
}

impl Sessions {
    fn lookup(&self, id: &str) -> Option<Credentials> {
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        let (credentials, used) = saved.get_mut(id)?;
        if used.elapsed() > SESSION_IDLE {
            saved.remove(id);
            return None;
        }
        *used = Instant::now();
        Some(credentials.clone())
    }

    /// Keeps `credentials` under a new session id, which it returns.
    pub fn save(&self, credentials: Credentials) -> String {
        let id = random_token();
        let mut saved = self.saved.lock().unwrap_or_else(|p| p.into_inner());
        saved.retain(|_, (_, used)| used.elapsed() <= SESSION_IDLE);
        if saved.len() >= MAX_SESSIONS
            && let Some(oldest) = saved
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone())
        {
            saved.remove(&oldest);
        }
        saved.insert(id.clone(), (credentials, Instant::now()));
        id
    }

    pub fn forget(&self, id: &str) {
        self.saved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A message for the next page: "Peer created.", or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub success: bool,
    pub text: String,
}

/// The cookies of one request, as the dashboard reads them.
#[derive(Debug, Clone)]
pub struct Visit {
    pub session_id: Option<String>,
    /// The form token: the cookie's, or a new one to set.
    pub csrf: String,
    pub csrf_is_new: bool,
    pub flash: Option<Flash>,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Visit::from_headers(&parts.headers))
    }
}

impl Visit {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut session_id = None;
        let mut csrf = None;
        let mut flash = None;
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for cookie in Cookie::split_parse_encoded(text).flatten() {
                match cookie.name() {
                    SESSION_COOKIE => session_id = Some(cookie.value().to_owned()),
                    CSRF_COOKIE if is_token(cookie.value()) => {
                        csrf = Some(cookie.value().to_owned())
                    }
                    FLASH_COOKIE => flash = parse_flash(cookie.value()),
                    _ => {}
                }
            }
        }
        let csrf_is_new = csrf.is_none();
        Visit {
            session_id,
            csrf: csrf.unwrap_or_else(random_token),
            csrf_is_new,
            flash,
        }
    }

    /// The saved credentials of this visit's session, if any.
    pub fn credentials(&self, sessions: &Sessions) -> Option<Credentials> {
        self.session_id
            .as_deref()
            .and_then(|id| sessions.lookup(id))
    }

    /// Whether a form's token is this visit's (and so the form came from a dashboard page).
    pub fn form_is_ours(&self, token: Option<&str>) -> bool {
        !self.csrf_is_new && token == Some(self.csrf.as_str())
    }

    /// The `Set-Cookie` headers a page shown in this visit sends: a new form token, and the
    /// flash message cleared once shown.
    pub fn page_cookies(&self) -> Vec<HeaderValue> {
        let mut cookies = Vec::new();
        if self.csrf_is_new {
            cookies.push(set(strict(CSRF_COOKIE, self.csrf.clone())));
        }
        if self.flash.is_some() {
            cookies.push(set(expired(FLASH_COOKIE)));
        }
        cookies
    }
}

fn is_token(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn strict(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

fn expired(name: &'static str) -> Cookie<'static> {
    let mut cookie = strict(name, String::new());
    cookie.make_removal();
    cookie
}

fn set(cookie: Cookie<'static>) -> HeaderValue {
    // Cookie names and encoded values are header-safe; an empty value is the fallback.
    HeaderValue::from_str(&cookie.encoded().to_string()).unwrap_or(HeaderValue::from_static(""))
}

fn parse_flash(value: &str) -> Option<Flash> {
    let (kind, text) = value.split_once('|')?;
    Some(Flash {
        success: kind == "ok",
        text: text.chars().take(500).collect(),
    })
}

/// The `Set-Cookie` header leaving `flash` for the next page.
pub fn flash_cookie(flash: &Flash) -> HeaderValue {
    let kind = if flash.success { "ok" } else { "error" };
    set(strict(FLASH_COOKIE, format!("{kind}|{}", flash.text)))
}

/// The `Set-Cookie` header of a new session.
pub fn session_cookie(id: &str) -> HeaderValue {
    set(strict(SESSION_COOKIE, id.to_owned()))
}

/// The `Set-Cookie` header ending the session.
pub fn session_removal() -> HeaderValue {
    set(expired(SESSION_COOKIE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn a_form_token_must_match_the_cookie() {
        let token = random_token();
        let visit = Visit::from_headers(&headers(&format!("{CSRF_COOKIE}={token}")));
        assert!(visit.form_is_ours(Some(&token)));
        assert!(!visit.form_is_ours(Some("other")));
        assert!(!visit.form_is_ours(None));
        // Without the cookie, no token is ours, not even the one the page would now set.
        let fresh = Visit::from_headers(&HeaderMap::new());
        assert!(!fresh.form_is_ours(Some(&fresh.csrf.clone())));
    }

    #[test]
    fn a_flash_survives_its_cookie() {
        let flash = Flash {
            success: true,
            text: "Peer created.".into(),
        };
        let cookie = flash_cookie(&flash);
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let visit = Visit::from_headers(&headers(&pair));
        assert_eq!(visit.flash, Some(flash));
    }

    #[test]
    fn sessions_are_bounded() {
        let sessions = Sessions::default();
        let first = sessions.save(Credentials::default());
        for _ in 0..MAX_SESSIONS {
            sessions.save(Credentials::default());
        }
        assert!(sessions.lookup(&first).is_none());
        assert_eq!(sessions.saved.lock().unwrap().len(), MAX_SESSIONS);
    }
}
