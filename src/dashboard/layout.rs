//! The frame every dashboard page shares, in Rafiki's dashboard's shape: a sidebar (Home, Assets,
//! Peers, and peerlab's Peer by URL, Wallet Addresses, Payments), the page, and the flash message
//! the last action left. Everything is in the page itself: no script or style is fetched from
//! anywhere, so it works offline.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::forms::{Errors, Fields};
use super::session::Flash;

/// The instance the dashboard belongs to, shown on every page.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub ilp_address: String,
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2430;background:#f6f7fb}
a{color:#2f54eb;text-decoration:none}a:hover{text-decoration:underline}
.shell{display:flex;min-height:100vh}
nav.side{width:220px;background:#0f1b3d;color:#dfe6ff;padding:18px 14px;flex-shrink:0}
nav.side .brand{font-weight:700;font-size:17px;color:#fff;margin-bottom:4px}
nav.side .who{font-size:12px;color:#9fb0e0;margin-bottom:18px;word-break:break-all}
nav.side a{display:block;color:#dfe6ff;padding:7px 10px;border-radius:6px;margin:2px 0}
nav.side a.here,nav.side a:hover{background:#22345f;text-decoration:none}
main{flex:1;padding:26px 34px;max-width:1100px}
h1{font-size:22px;margin:0 0 18px}h2{font-size:16px;margin:0 0 12px}
.card{background:#fff;border:1px solid #e3e6ef;border-radius:10px;padding:18px 20px;margin-bottom:18px}
.row{display:flex;gap:18px;flex-wrap:wrap}.row>.card{flex:1;min-width:300px}
.section{display:grid;grid-template-columns:220px 1fr;gap:20px;border-bottom:1px solid #eceef4;padding:16px 0}
.section:last-child{border-bottom:0}.section .hint{color:#6b7287;font-size:13px}
label{display:block;font-weight:600;margin:10px 0 4px}label .req{color:#c0392b}
input,select{width:100%;padding:8px 10px;border:1px solid #c9cfdd;border-radius:6px;font:inherit;background:#fff}
input[readonly]{background:#f1f3f8;color:#555}
.error{color:#c0392b;font-size:13px;margin-top:4px}
button,.button{display:inline-block;background:#2f54eb;color:#fff;border:0;border-radius:6px;padding:8px 14px;font:inherit;font-weight:600;cursor:pointer}
button.secondary,.button.secondary{background:#e9edf7;color:#1f2430}
button.danger{background:#c0392b}button:disabled{opacity:.45;cursor:default}
.actions{display:flex;gap:10px;justify-content:flex-end;margin-top:14px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e3e6ef;border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:10px 12px;border-bottom:1px solid #eceef4;vertical-align:top}
th{background:#f1f3f9;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#555d72}
tr.link{cursor:pointer}tr.link:hover td{background:#f7f9ff}
.muted{color:#6b7287}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.flash{padding:10px 14px;border-radius:8px;margin-bottom:16px;font-weight:600}
.flash.ok{background:#e6f7ee;color:#1e7b4a;border:1px solid #b6e3c9}.flash.bad{background:#fdecea;color:#a12a1d;border:1px solid #f3c0b9}
.pager{display:flex;gap:10px;justify-content:flex-end;margin-top:12px}
.amount{font-size:22px;font-weight:700}
dialog{border:0;border-radius:12px;padding:22px;min-width:420px;box-shadow:0 12px 40px rgba(15,27,61,.3)}
dialog::backdrop{background:rgba(15,27,61,.45)}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:700;background:#eef1f8}
.badge.COMPLETED,.badge.ACTIVE{background:#e6f7ee;color:#1e7b4a}.badge.FAILED,.badge.INACTIVE{background:#fdecea;color:#a12a1d}
.badge.SENDING,.badge.FUNDING,.badge.PENDING{background:#fff5e0;color:#8a5a00}
"#;

/// Opens a `<dialog>` from any `[data-open]` button and closes it from `[data-close]`: the only
/// script the pages need; every action is a plain form the server answers.
const SCRIPT: &str = r#"
document.addEventListener('click', function (event) {
  var opener = event.target.closest('[data-open]');
  if (opener) { var d = document.getElementById(opener.getAttribute('data-open')); if (d) { d.showModal(); var f = d.querySelector('input:not([type=hidden])'); if (f) f.focus(); } }
  var closer = event.target.closest('[data-close]');
  if (closer) { var c = closer.closest('dialog'); if (c) c.close(); }
  var row = event.target.closest('tr[data-href]');
  if (row && !event.target.closest('a,button')) { window.location = row.getAttribute('data-href'); }
});
document.querySelectorAll('dialog[data-open-now]').forEach(function (d) { d.showModal(); });
"#;

/// The sidebar's entries: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/assets", "Assets"),
    ("/peers", "Peers"),
    ("/peers/by-url", "Peer by URL"),
    ("/wallet-addresses", "Wallet Addresses"),
    ("/payments", "Payments"),
];

/// A whole page: `title`, the section of the sidebar it belongs to (`here`), and its content.
pub fn page(
    identity: &Identity,
    title: &str,
    here: &str,
    flash: Option<&Flash>,
    refresh_seconds: Option<u32>,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh_seconds {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · " (identity.name) " · peerlab" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                div.shell {
                    nav.side {
                        div.brand { "peerlab" }
                        div.who { (identity.name) br; span.mono { (identity.ilp_address) } }
                        @for (path, label) in NAV {
                            a href=(path) class=[(*path == here).then_some("here")] { (label) }
                        }
                        a href="/graphql" { "GraphiQL" }
                    }
                    main {
                        @if let Some(flash) = flash {
                            div class={ "flash " (if flash.success { "ok" } else { "bad" }) } role="status" {
                                (flash.text)
                            }
                        }
                        (content)
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// The hidden field carrying the form token.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// A labelled input with its error, keeping what was typed.
pub fn input(
    label: &str,
    name: &'static str,
    kind: &str,
    required: bool,
    values: &Fields,
    errors: &Errors,
) -> Markup {
    let value = values.get(name).map(String::as_str).unwrap_or("");
    html! {
        label for=(name) {
            (label)
            @if required { " " span.req { "*" } }
        }
        input id=(name) name=(name) type=(kind) value=(value) required[required]
            step=[(kind == "number").then_some("any")];
        @if let Some(message) = errors.get(name) {
            div.error data-for=(name) { (message) }
        }
    }
}

/// A read-only labelled value.
pub fn read_only(label: &str, id: &str, value: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        input id=(id) type="text" value=(value) readonly;
    }
}

/// Previous / Next by cursor, as Rafiki's lists page (`?before=` / `?after=`).
pub fn pager(path: &str, page_info: &serde_json::Value) -> Markup {
    let start = page_info["startCursor"].as_str();
    let end = page_info["endCursor"].as_str();
    let previous = page_info["hasPreviousPage"] == true;
    let next = page_info["hasNextPage"] == true;
    html! {
        div.pager {
            @if let (true, Some(cursor)) = (previous, start) {
                a.button.secondary href={ (path) "?before=" (cursor) } { "Previous" }
            } @else {
                button.secondary disabled { "Previous" }
            }
            @if let (true, Some(cursor)) = (next, end) {
                a.button.secondary href={ (path) "?after=" (cursor) } { "Next" }
            } @else {
                button.secondary disabled { "Next" }
            }
        }
    }
}
