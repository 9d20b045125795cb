//! The Admin Dashboard over real HTTP, as a browser without JavaScript uses it: pages, forms with
//! their token cookie, Rafiki's validation messages, flash messages after each action, and the
//! credentials an instance with an API secret asks for. (The browser tests, driving Chromium, are
//! in simulator/tests/dashboard_browser.rs.)

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use peerlab::config::Config;
use peerlab::ilp::Address;
use peerlab::node::Node;

/// A cookie-keeping client of one dashboard.
struct Visitor {
    base: String,
    cookies: HashMap<String, String>,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// An answer: status, `Location`, body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Visitor {
    fn new(node: &Node) -> Self {
        Self {
            base: node.admin_url(),
            cookies: HashMap::new(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(&mut self, request: hyper::http::request::Builder, body: String) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = request
            .header("cookie", cookie)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = self.http.request(request).await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = Request::get(format!("{}{path}", self.base));
        self.send(request, String::new()).await
    }

    /// Posts a form as the page would, with the token from the cookie.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let token = self
            .cookies
            .get("peerlab_csrf")
            .cloned()
            .unwrap_or_default();
        self.post_with_token(path, fields, &token).await
    }

    async fn post_with_token(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        token: &str,
    ) -> Answer {
        let mut pairs = vec![("_csrf", token)];
        pairs.extend_from_slice(fields);
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        self.send(request, body).await
    }

    /// Posts, follows the redirect, and returns the page it led to.
    async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> (String, Answer) {
        let posted = self.post(path, fields).await;
        assert_eq!(posted.status, 303, "{path}: {}", posted.body);
        let location = posted.location.expect("a redirect");
        let page = self.get(&location).await;
        (location, page)
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn node(address: &str, secret: Option<&str>) -> Node {
    let mut config = Config::for_address(Address::parse(address).unwrap());
    config.api_secret = secret.map(str::to_owned);
    Node::start(config).await.unwrap()
}

#[tokio::test]
async fn an_operator_creates_an_asset_and_a_peer_and_moves_liquidity() {
    let node = node("test.dashboard", None).await;
    let mut visitor = Visitor::new(&node);
    assert!(
        visitor
            .get("/")
            .await
            .body
            .contains("Welcome to the Admin Dashboard")
    );

    // Create Peer without an asset: Rafiki's "Before You Continue".
    let form = visitor.get("/peers/create").await;
    assert!(form.body.contains("Before You Continue"), "{}", form.body);
    assert!(
        form.body.contains(
            "Please note: you must have at least one asset before you can create a peer."
        )
    );

    // Add asset: Rafiki's rules, then the asset.
    let refused = visitor
        .post("/assets/create", &[("code", "U1"), ("scale", "300")])
        .await;
    assert_eq!(refused.status, 200);
    assert!(
        refused
            .body
            .contains("Code should be at least 3 characters long")
    );
    assert!(refused.body.contains("Scale should be from 0 to 255"));
    let (asset_page, page) = visitor
        .submit("/assets/create", &[("code", "usd"), ("scale", "2")])
        .await;
    assert!(page.body.contains("Asset created."), "{}", page.body);
    assert!(page.body.contains("Asset: USD"));
    let asset_id = asset_page.trim_start_matches("/assets/").to_owned();
    // The flash is shown once.
    assert!(
        !visitor
            .get(&asset_page)
            .await
            .body
            .contains("Asset created.")
    );

    // Create Peer: each of Rafiki's validation messages.
    let refused = visitor
        .post(
            "/peers/create",
            &[
                ("staticIlpAddress", "not an address"),
                ("maxPacketAmount", "lots"),
                ("outgoingAuthToken", "theirs"),
                ("outgoingEndpoint", "nowhere"),
                ("asset", "not-a-uuid"),
            ],
        )
        .await;
    assert_eq!(refused.status, 200);
    for message in [
        "The provided ILP Address is not valid.",
        "Max packet amount is expected to be a number.",
        "Invalid outgoing HTTP endpoint URL.",
        "Invalid asset.",
    ] {
        assert!(
            refused.body.contains(message),
            "{message}: {}",
            refused.body
        );
    }
    assert!(visitor.get("/peers").await.body.contains("No peers found."));

    let (peer_page, page) = visitor
        .submit(
            "/peers/create",
            &[
                ("name", "Happy Life Bank"),
                ("staticIlpAddress", "test.happy-life-bank"),
                ("incomingAuthTokens", "ours, another"),
                ("outgoingAuthToken", "theirs"),
                ("outgoingEndpoint", "http://127.0.0.1:9/"),
                ("asset", &asset_id),
                ("initialLiquidity", "500"),
            ],
        )
        .await;
    assert!(page.body.contains("Peer created."), "{}", page.body);
    assert!(page.body.contains("5.00 USD"), "{}", page.body);
    let list = visitor.get("/peers").await.body;
    assert!(list.contains("Happy Life Bank") && list.contains("USD (Scale: 2)"));

    // Deposit 12.34 USD: 1234 at scale 2.
    let (_, page) = visitor
        .submit(
            &format!("{peer_page}/deposit"),
            &[("displayAmount", "12.34")],
        )
        .await;
    assert!(
        page.body.contains("Deposited peer liquidity."),
        "{}",
        page.body
    );
    assert!(page.body.contains("17.34 USD"), "{}", page.body);
    for (typed, message) in [
        ("0.001", "The asset scale cannot accomodate this value"),
        ("-1", "The amount should be a positive value"),
    ] {
        let (_, page) = visitor
            .submit(&format!("{peer_page}/deposit"), &[("displayAmount", typed)])
            .await;
        assert!(page.body.contains(message), "{typed}: {}", page.body);
        assert!(page.body.contains("17.34 USD"));
    }

    // Two two-phase withdrawals: one posted, one voided.
    for amount in ["1", "2"] {
        let (_, page) = visitor
            .submit(
                &format!("{peer_page}/withdraw"),
                &[("displayAmount", amount), ("twoPhase", "on")],
            )
            .await;
        assert!(
            page.body.contains("Created a two-phase withdrawal"),
            "{}",
            page.body
        );
    }
    let page = visitor.get(&peer_page).await.body;
    assert!(page.contains("14.34 USD"), "{page}");
    let pending: Vec<String> = page
        .match_indices("data-withdrawal=\"")
        .map(|(at, _)| page[at + 17..at + 17 + 36].to_owned())
        .collect();
    assert_eq!(pending.len(), 2, "{page}");
    let (_, page) = visitor
        .submit(
            &format!("/withdrawals/{}/post", pending[0]),
            &[("back", &peer_page)],
        )
        .await;
    assert!(page.body.contains("Withdrawal posted"), "{}", page.body);
    let (_, page) = visitor
        .submit(
            &format!("/withdrawals/{}/void", pending[1]),
            &[("back", &peer_page)],
        )
        .await;
    assert!(page.body.contains("Withdrawal voided"), "{}", page.body);
    // 17.34 less the posted withdrawal (1.00 or 2.00, whichever was listed first).
    assert!(
        page.body.contains("16.34 USD") || page.body.contains("15.34 USD"),
        "{}",
        page.body
    );
    assert!(page.body.contains("No pending withdrawals."));

    // Delete: the name must be typed.
    let (_, page) = visitor
        .submit(
            &format!("{peer_page}/delete"),
            &[("confirm", "delete peer")],
        )
        .await;
    assert!(
        page.body.contains("The peer was not deleted"),
        "{}",
        page.body
    );
    let (location, page) = visitor
        .submit(
            &format!("{peer_page}/delete"),
            &[("confirm", "Happy Life Bank")],
        )
        .await;
    assert_eq!(location, "/peers");
    assert!(page.body.contains("Peer was deleted.") && page.body.contains("No peers found."));
}

/// Every page is whole by itself: no script, style, image or font is fetched from anywhere, so
/// the dashboard works offline.
#[tokio::test]
async fn pages_fetch_nothing_from_elsewhere() {
    let node = node("test.dashboard-offline", None).await;
    let mut visitor = Visitor::new(&node);
    for path in [
        "/",
        "/assets",
        "/assets/create",
        "/peers",
        "/peers/create",
        "/peers/by-url",
        "/wallet-addresses",
        "/wallet-addresses/create",
        "/payments",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        for fetches in [" src=", "<link", "@import", "url("] {
            assert!(
                !page.body.contains(fetches),
                "{path} has {fetches}: {}",
                page.body
            );
        }
    }
}

#[tokio::test]
async fn a_form_from_elsewhere_changes_nothing() {
    let node = node("test.dashboard-csrf", None).await;
    let mut visitor = Visitor::new(&node);
    visitor.get("/assets/create").await;
    let forged = visitor
        .post_with_token(
            "/assets/create",
            &[("code", "USD"), ("scale", "2")],
            "0123456789abcdef0123456789abcdef",
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // A page elsewhere cannot send the cookie either (SameSite=Strict): no token at all.
    let mut stranger = Visitor::new(&node);
    let forged = stranger
        .post_with_token("/assets/create", &[("code", "USD"), ("scale", "2")], "")
        .await;
    assert_eq!(forged.status, 403);
    assert!(
        visitor
            .get("/assets")
            .await
            .body
            .contains("No assets found.")
    );
}

#[tokio::test]
async fn with_an_api_secret_the_dashboard_asks_for_it_and_signs() {
    let node = node("test.dashboard-signed", Some("s3cr3t")).await;
    let mut visitor = Visitor::new(&node);
    let home = visitor.get("/").await.body;
    assert!(
        home.contains("API Secret") && home.contains("Save Credentials"),
        "{home}"
    );
    let blocked = visitor.get("/peers").await;
    assert_eq!(blocked.status, 303);
    assert_eq!(blocked.location.as_deref(), Some("/"));

    let wrong = visitor
        .post("/credentials", &[("apiSecret", "guess")])
        .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body.contains("These credentials were refused"),
        "{}",
        wrong.body
    );
    assert!(
        !wrong.body.contains("guess"),
        "the secret is not echoed back"
    );

    let (_, page) = visitor
        .submit("/credentials", &[("apiSecret", "s3cr3t")])
        .await;
    assert!(page.body.contains("Credentials saved."), "{}", page.body);
    let (_, page) = visitor
        .submit("/assets/create", &[("code", "EUR"), ("scale", "2")])
        .await;
    assert!(page.body.contains("Asset created."), "{}", page.body);
    assert!(visitor.get("/peers").await.body.contains("No peers found."));
}

#[tokio::test]
async fn the_peers_list_pages_by_cursor() {
    use peerlab_simulator::{AdminClient, PeerSettings};
    let node = node("test.dashboard-pages", None).await;
    let admin = AdminClient::new(&node.graphql_url()).unwrap();
    let asset = admin.create_asset("USD", 2).await.unwrap();
    for n in 0..25 {
        let settings = PeerSettings::new(
            format!("test.peer-{n:02}"),
            &asset,
            format!("token-{n}"),
            "http://127.0.0.1:9/",
        )
        .name(format!("Peer {n:02}"));
        admin.create_peer(&settings).await.unwrap();
    }
    let mut visitor = Visitor::new(&node);
    let rows = |body: &str| body.matches("<tr class=\"link\"").count();
    let first = visitor.get("/peers").await.body;
    assert_eq!(rows(&first), 20, "{first}");
    assert!(first.contains("<button class=\"secondary\" disabled>Previous</button>"));
    let next = first
        .split("href=\"/peers?after=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a Next link");
    let second = visitor.get(&format!("/peers?after={next}")).await.body;
    assert_eq!(rows(&second), 5, "{second}");
    assert!(second.contains("<button class=\"secondary\" disabled>Next</button>"));
    let previous = second
        .split("href=\"/peers?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a Previous link");
    let back = visitor.get(&format!("/peers?before={previous}")).await.body;
    assert_eq!(rows(&back), 20, "{back}");
    // A cursor that is not one: the API's refusal, not a crash.
    let bad = visitor.get("/peers?after=%3Cb%3Ebold%3C%2Fb%3E").await;
    assert_eq!(bad.status, 502, "{}", bad.body);
    assert!(!bad.body.contains("<b>bold</b>"), "{}", bad.body);
}
