//! The live network view: `/network.json`'s shape and numbers over plain HTTP, and the page in
//! headless Chromium drawing a line of three instances, then following packets as they flow
//! (packets per second, rejects, liquidity moving), with a screenshot before, during and after.

mod browser;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use browser::Browser;
use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Prepare, Reply, Timestamp};
use peerlab_simulator::network_view::NetworkView;
use peerlab_simulator::{Network, PeerSettings, TestReceiver, paying_prepare};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENT_TOKEN: &str = "client-token";
const LIQUIDITY: u64 = 1_000_000;
const AMOUNT: u64 = 10;
const SOON: Duration = Duration::from_secs(10);

/// A line a - b - c in USD, a client peered with `a` (outside the network: not drawn) and a
/// receiver behind `c`, so that packets from the client cross both peerings.
struct Setup {
    network: Network,
    receiver: TestReceiver,
    client: OutgoingClient,
    first_connector: String,
}

async fn setup() -> Setup {
    let network = Network::line(&["a", "b", "c"], ("USD", 2), LIQUIDITY)
        .await
        .unwrap();
    let (a, c) = (
        network.instance("a").unwrap(),
        network.instance("c").unwrap(),
    );
    let receiver = TestReceiver::start(c.ilp_address().with_suffix("receiver").unwrap())
        .await
        .unwrap();
    c.admin()
        .create_peer(
            &PeerSettings::new(
                receiver.address().as_str(),
                c.asset_id("USD").unwrap(),
                "receiver-token",
                receiver.url(),
            )
            .outgoing_token("to-receiver"),
        )
        .await
        .unwrap();
    a.admin()
        .create_peer(
            &PeerSettings::new(
                "test.client",
                a.asset_id("USD").unwrap(),
                CLIENT_TOKEN,
                "http://127.0.0.1:9/",
            )
            .outgoing_token("to-client")
            .liquidity(LIQUIDITY),
        )
        .await
        .unwrap();
    Setup {
        first_connector: a.connector_url(),
        network,
        receiver,
        client: OutgoingClient::default(),
    }
}

impl Setup {
    /// A packet the receiver fulfils.
    async fn pay(&self) -> Reply {
        let prepare = paying_prepare(self.receiver.address(), AMOUNT, SOON);
        self.send(&prepare).await
    }

    /// A packet the receiver rejects (a condition nobody can fulfil): rejected on every link.
    async fn unpayable(&self) -> Reply {
        let prepare = Prepare::new(
            self.receiver.address().clone(),
            AMOUNT,
            Timestamp::now().saturating_add(SOON),
            [7; 32],
            vec![],
        )
        .unwrap();
        self.send(&prepare).await
    }

    async fn send(&self, prepare: &Prepare) -> Reply {
        self.client
            .send(&self.first_connector, CLIENT_TOKEN, prepare.encode())
            .await
            .expect("the connector answers")
    }

    async fn shutdown(self) {
        self.network.shutdown().await;
        self.receiver.shutdown().await;
    }
}

/// `GET url` over plain HTTP/1.0: (status, body).
async fn get(url: &str, method: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("{method} /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

async fn snapshot(view: &NetworkView) -> Value {
    let (status, body) = get(&format!("{}network.json", view.url()), "GET").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn network_json_lists_instances_peerings_liquidity_and_link_counts() {
    let s = setup().await;
    let view = NetworkView::start(&s.network, 0).await.unwrap();
    assert!(
        view.url().starts_with("http://127.0.0.1:"),
        "{}",
        view.url()
    );

    let before = snapshot(&view).await;
    let instances = before["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3);
    for (instance, name) in instances.iter().zip(["a", "b", "c"]) {
        let handle = s.network.instance(name).unwrap();
        assert_eq!(instance["name"], json!(name));
        assert_eq!(instance["ilp_address"], json!(format!("test.{name}")));
        assert_eq!(
            instance["dashboard"],
            json!(format!("{}/", handle.admin_url()))
        );
        let (x, y) = (
            instance["x"].as_f64().unwrap(),
            instance["y"].as_f64().unwrap(),
        );
        assert!((0.0..=before["width"].as_f64().unwrap()).contains(&x));
        assert!((0.0..=before["height"].as_f64().unwrap()).contains(&y));
    }
    // The client and the receiver are peers of a and c but not instances: not drawn.
    let idle = |from: &str, to: &str| json!({ "from": from, "to": to, "counted": true, "fulfilled": 0, "rejected": 0 });
    let granted = LIQUIDITY.to_string();
    assert_eq!(
        before["peerings"],
        json!([
            {
                "between": ["a", "b"],
                "asset": { "code": "USD", "scale": 2 },
                "liquidity": [granted, granted],
                "links": [idle("a", "b"), idle("b", "a")],
            },
            {
                "between": ["b", "c"],
                "asset": { "code": "USD", "scale": 2 },
                "liquidity": [granted, granted],
                "links": [idle("b", "c"), idle("c", "b")],
            },
        ])
    );

    assert!(matches!(s.pay().await, Reply::Fulfill(_)));
    assert!(matches!(s.pay().await, Reply::Fulfill(_)));
    assert!(matches!(s.unpayable().await, Reply::Reject(_)));
    let after = snapshot(&view).await;
    for (index, [first, second]) in [["a", "b"], ["b", "c"]].into_iter().enumerate() {
        let peering = &after["peerings"][index];
        // The first side forwarded 2 * AMOUNT to the second: it now grants the second that much
        // more, and the second grants the first that much less.
        assert_eq!(
            peering["liquidity"],
            json!([
                (LIQUIDITY + 2 * AMOUNT).to_string(),
                (LIQUIDITY - 2 * AMOUNT).to_string()
            ]),
            "{peering}"
        );
        assert_eq!(
            peering["links"],
            json!([
                { "from": first, "to": second, "counted": true, "fulfilled": 2, "rejected": 1 },
                idle(second, first),
            ])
        );
    }

    // GETs only; anything else is refused without being served.
    let (status, _) = get(&format!("{}network.json", view.url()), "POST").await;
    assert_eq!(status, 405);
    let (status, page) = get(view.url(), "GET").await;
    assert_eq!(status, 200);
    assert!(page.contains("<svg id=\"network\""), "{page}");
    let (status, _) = get(&format!("{}elsewhere", view.url()), "GET").await;
    assert_eq!(status, 404);

    view.stop().await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_draws_the_network_and_follows_packets_live() {
    let s = Arc::new(setup().await);
    let view = NetworkView::start(&s.network, 0).await.unwrap();
    let browser = Browser::start("the_page_draws_the_network_and_follows_packets_live").await;
    browser.goto(view.url()).await;

    // Every instance, with its address and a link to its dashboard.
    browser
        .wait_until("three instances drawn", || async {
            (browser.find_all("svg g.instance").await.len() == 3).then_some(())
        })
        .await;
    for name in ["a", "b", "c"] {
        let handle = s.network.instance(name).unwrap();
        let group = format!("svg g.instance[data-name=\"{name}\"]");
        assert_eq!(browser.text(&format!("{group} text.name")).await, name);
        assert_eq!(
            browser.text(&format!("{group} text.address")).await,
            format!("test.{name}")
        );
        let dashboard = format!("{}/", handle.admin_url());
        let link = browser.find(&format!("{group} a.dashboard")).await;
        assert_eq!(link.attr("href").await.unwrap(), Some(dashboard.clone()));
        let row_link = browser
            .find(&format!(
                "#instance-table tr[data-name=\"{name}\"] a.dashboard"
            ))
            .await;
        assert_eq!(row_link.attr("href").await.unwrap(), Some(dashboard));
    }
    // Every peering, with the liquidity each side grants the other, and no traffic yet.
    for (first, second) in [("a", "b"), ("b", "c")] {
        let group = format!("svg g.peering[data-between=\"{first} {second}\"]");
        browser.find(&format!("{group} line")).await;
        assert_eq!(
            browser.text(&format!("{group} text.liquidity")).await,
            format!("USD: {first} grants {LIQUIDITY} | {second} grants {LIQUIDITY}")
        );
        assert_eq!(
            browser.text(&format!("{group} text.forward")).await,
            format!("{first} → {second}: 0.0 packets/s, 0 rejects")
        );
    }
    assert_eq!(browser.find_all("svg g.peering").await.len(), 2);
    browser.screenshot("before").await;

    // Packets flow until the page has shown them moving; one in ten is rejected.
    let flowing = Arc::new(AtomicBool::new(true));
    let (paid, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let traffic = tokio::spawn({
        let (s, flowing, paid, refused) =
            (s.clone(), flowing.clone(), paid.clone(), refused.clone());
        async move {
            let mut sent = 0u32;
            // Bounded: the page must notice within the browser's wait anyway.
            while flowing.load(Ordering::Relaxed) && sent < 5_000 {
                if sent % 10 == 9 {
                    assert!(matches!(s.unpayable().await, Reply::Reject(_)));
                    refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    assert!(matches!(s.pay().await, Reply::Fulfill(_)));
                    paid.fetch_add(1, Ordering::Relaxed);
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    let rate_of =
        |text: &str| -> Option<f64> { text.split(": ").nth(1)?.split(' ').next()?.parse().ok() };
    let live = browser
        .wait_for_text("svg g.peering[data-between=\"b c\"] text.forward", |text| {
            rate_of(text).is_some_and(|rate| rate > 0.0) && !text.ends_with(" 0 rejects")
        })
        .await;
    assert!(live.starts_with("b → c: "), "{live}");
    browser
        .wait_for_text(
            "svg g.peering[data-between=\"a b\"] text.liquidity",
            |text| text != format!("USD: a grants {LIQUIDITY} | b grants {LIQUIDITY}"),
        )
        .await;
    browser.screenshot("during").await;
    flowing.store(false, Ordering::Relaxed);
    traffic.await.unwrap();

    // Once the traffic has stopped, the page settles on exactly what crossed each link.
    let (paid, refused) = (
        paid.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    assert!(paid > 0 && refused > 0);
    let moved = paid * AMOUNT;
    for (first, second) in [("a", "b"), ("b", "c")] {
        let group = format!("svg g.peering[data-between=\"{first} {second}\"]");
        browser
            .wait_for_text(&format!("{group} text.liquidity"), |text| {
                text == format!(
                    "USD: {first} grants {} | {second} grants {}",
                    LIQUIDITY + moved,
                    LIQUIDITY - moved
                )
            })
            .await;
        browser
            .wait_for_text(&format!("{group} text.forward"), |text| {
                text == format!("{first} → {second}: 0.0 packets/s, {refused} rejects")
            })
            .await;
        browser
            .wait_for_text(
                &format!("#peering-table tr[data-between=\"{first} {second}\"] td:nth-child(5)"),
                |text| text == format!("{first}→{second} {paid}; {second}→{first} 0"),
            )
            .await;
    }
    browser.screenshot("after").await;

    browser.close().await;
    view.stop().await;
    match Arc::try_unwrap(s) {
        Ok(s) => s.shutdown().await,
        Err(_) => panic!("the traffic task still holds the network"),
    }
}
