//! The Admin Dashboard in real headless Chromium, as an operator walks the seed document's Admin
//! Dashboard steps on two instances: create an asset, create a peer through the form (and meet
//! each of Rafiki's validation messages first), deposit liquidity and see the amount, create
//! two-phase withdrawals and post one and void the other, delete a peer with the typed
//! confirmation, peer by URL, create wallet addresses and watch a payment complete. Each page is
//! saved as a screenshot under the test's output directory.

mod browser;

use browser::Browser;
use peerlab_simulator::Network;
use peerlab_simulator::topology::InstanceSpec;

fn spec(name: &str, address: &str) -> InstanceSpec {
    InstanceSpec {
        enable_auto_peering: true,
        ..InstanceSpec::new(name, address)
    }
}

/// Types `value` into the input `css` selects (fields of the same name in two dialogs are told
/// apart by their ids).
async fn type_into(browser: &Browser, css: &str, value: &str) {
    let field = browser.find(css).await;
    field.clear().await.expect("the field clears");
    field
        .send_keys(value)
        .await
        .expect("the field takes the keys");
}

/// "12.34 USD" as 1234.
fn cents(shown: &str) -> u64 {
    shown
        .split_whitespace()
        .next()
        .and_then(|amount| amount.replace('.', "").parse().ok())
        .unwrap_or_else(|| panic!("an amount in {shown:?}"))
}

/// Creates the asset `code` at scale 2 through the Add asset form, on the dashboard at `base`.
async fn add_asset(browser: &Browser, base: &str, code: &str) {
    browser.goto(&format!("{base}/assets/create")).await;
    browser.fill("code", code).await;
    browser.fill("scale", "2").await;
    browser.click_text("Create").await;
    browser.find_text("Asset created.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_walks_the_admin_dashboard() {
    let network = Network::start(&[
        spec("Cloud Nine", "test.cloud-nine-wallet"),
        spec("Happy Life", "test.happy-life-bank"),
    ])
    .await
    .expect("two instances");
    let cloud = network.instance("Cloud Nine").expect("Cloud Nine");
    let happy = network.instance("Happy Life").expect("Happy Life");
    let base = cloud.admin_url();
    let browser = Browser::start("an_operator_walks_the_admin_dashboard").await;

    browser.goto(&format!("{base}/")).await;
    browser.find_text("Welcome to the Admin Dashboard").await;
    browser.screenshot("01-home").await;

    // No asset yet: Create Peer says so first.
    browser.goto(&format!("{base}/peers/create")).await;
    browser.find_text("Before You Continue").await;
    browser
        .find_text("Please note: you must have at least one asset before you can create a peer.")
        .await;
    browser.screenshot("02-before-you-continue").await;
    browser.click_text("Create Asset").await;

    // Rafiki's asset rules, then the asset.
    browser.fill("code", "u1").await;
    browser.fill("scale", "2").await;
    browser.click_text("Create").await;
    browser
        .find_text("Code should be at least 3 characters long")
        .await;
    browser.fill("code", "usd").await;
    browser.click_text("Create").await;
    browser.find_text("Asset created.").await;
    browser.find_text("Asset: USD").await;
    browser.screenshot("03-asset").await;

    // Create Peer with bad input: each of Rafiki's messages.
    browser.goto(&format!("{base}/peers/create")).await;
    browser.fill("staticIlpAddress", "not an address").await;
    browser.fill("maxPacketAmount", "lots").await;
    browser.fill("outgoingAuthToken", "their-token").await;
    browser.fill("outgoingEndpoint", "nowhere").await;
    // The select offers only real assets; an edited page sends another value.
    browser
        .execute(
            "const s = document.getElementById('asset'); \
             s.insertAdjacentHTML('beforeend', '<option value=\"not-a-uuid\">edited</option>'); \
             s.value = 'not-a-uuid';",
        )
        .await;
    browser.click_text("Create").await;
    for message in [
        "The provided ILP Address is not valid.",
        "Max packet amount is expected to be a number.",
        "Invalid outgoing HTTP endpoint URL.",
        "Invalid asset.",
    ] {
        browser.find_text(message).await;
    }
    browser.screenshot("04-create-peer-errors").await;

    // The peer, as the guide describes it.
    browser.fill("name", "Happy Life Bank").await;
    browser
        .fill("staticIlpAddress", "test.happy-life-bank")
        .await;
    browser.fill("maxPacketAmount", "").await;
    browser
        .fill("incomingAuthTokens", "token-from-happy-life")
        .await;
    browser
        .fill("outgoingAuthToken", "token-to-happy-life")
        .await;
    browser
        .fill("outgoingEndpoint", &happy.connector_url())
        .await;
    browser.fill("asset", "USD (Scale: 2)").await;
    browser.click_text("Create").await;
    browser.find_text("Peer created.").await;
    browser
        .wait_for_text("#liquidity", |t| t == "0.00 USD")
        .await;
    browser.screenshot("05-peer").await;

    // Deposit 12.34 USD, in the asset's unit.
    browser.click_text("Deposit liquidity").await;
    type_into(&browser, "#deposit-amount", "12.34").await;
    browser.screenshot("06-deposit-dialog").await;
    browser.click("#deposit button[type=submit]").await;
    browser.find_text("Deposited peer liquidity.").await;
    browser
        .wait_for_text("#liquidity", |t| t == "12.34 USD")
        .await;
    // More decimals than the scale holds: Rafiki's message, nothing moves.
    browser.click_text("Deposit liquidity").await;
    type_into(&browser, "#deposit-amount", "0.001").await;
    browser.click("#deposit button[type=submit]").await;
    browser
        .find_text("The asset scale cannot accomodate this value")
        .await;
    browser
        .wait_for_text("#liquidity", |t| t == "12.34 USD")
        .await;
    browser.screenshot("07-deposited").await;

    // Two two-phase withdrawals, 1.00 and 2.00: both held, then one posted and one voided.
    for amount in ["1", "2"] {
        browser.click_text("Withdraw liquidity").await;
        type_into(&browser, "#withdraw-amount", amount).await;
        browser.click("#withdraw input[name=twoPhase]").await;
        browser.click("#withdraw button[type=submit]").await;
        browser
            .find_text("Created a two-phase withdrawal: post or void it below.")
            .await;
    }
    browser
        .wait_for_text("#liquidity", |t| t == "9.34 USD")
        .await;
    assert_eq!(
        browser
            .find_all("#pending-withdrawals tr[data-withdrawal]")
            .await
            .len(),
        2
    );
    browser
        .execute("document.getElementById('pending-withdrawals').scrollIntoView();")
        .await;
    browser.screenshot("08-pending-withdrawals").await;
    let first_amount = browser
        .text("#pending-withdrawals tr[data-withdrawal] td:nth-child(2)")
        .await;
    browser
        .click("#pending-withdrawals tr[data-withdrawal] button[type=submit]")
        .await;
    browser
        .find_text("Withdrawal posted: the amount has left.")
        .await;
    browser
        .click("#pending-withdrawals tr[data-withdrawal] button.secondary")
        .await;
    browser
        .find_text("Withdrawal voided: the amount is back.")
        .await;
    browser.find_text("No pending withdrawals.").await;
    let expected = if first_amount.starts_with("1.00") {
        "11.34 USD"
    } else {
        "10.34 USD"
    };
    browser.wait_for_text("#liquidity", |t| t == expected).await;
    browser
        .execute("document.getElementById('liquidity').scrollIntoView();")
        .await;
    browser.screenshot("09-withdrawals-resolved").await;

    // Delete: the typed confirmation must be the peer's name.
    browser.click_text("Delete peer").await;
    browser.fill("confirm", "delete peer").await;
    browser.click_text("Delete this peer").await;
    browser.find_text("The peer was not deleted").await;
    browser.click_text("Delete peer").await;
    browser.fill("confirm", "Happy Life Bank").await;
    browser.screenshot("10-delete-dialog").await;
    browser.click_text("Delete this peer").await;
    browser.find_text("Peer was deleted.").await;
    browser.find_text("No peers found.").await;
    browser.screenshot("11-peer-deleted").await;

    // Peer by URL: Happy Life gets USD too, then Cloud Nine peers with it by its URL alone.
    add_asset(&browser, &happy.admin_url(), "USD").await;
    browser.goto(&format!("{base}/peers/by-url")).await;
    browser
        .fill(
            "peerUrl",
            &happy.auto_peering_url().expect("auto-peering is on"),
        )
        .await;
    browser.fill("asset", "USD (Scale: 2)").await;
    browser.fill("liquidityToDeposit", "100").await;
    browser.click_text("Peer").await;
    browser.find_text("Peered by URL with").await;
    browser
        .wait_for_text("#liquidity", |t| t == "100.00 USD")
        .await;
    browser.screenshot("12-peered-by-url").await;
    browser.goto(&format!("{}/peers", happy.admin_url())).await;
    browser.find_text("test.cloud-nine-wallet").await;
    browser.screenshot("13-the-other-side").await;

    // Wallet addresses on both sides, and a payment across the auto-peering.
    browser
        .goto(&format!("{}/wallet-addresses/create", happy.admin_url()))
        .await;
    browser.fill("name", "bob").await;
    browser.fill("publicName", "Bob").await;
    browser.fill("asset", "USD (Scale: 2)").await;
    browser.click_text("Create").await;
    browser.find_text("Wallet address created.").await;
    browser
        .goto(&format!("{base}/wallet-addresses/create"))
        .await;
    browser.fill("name", "alice").await;
    browser.fill("publicName", "Alice").await;
    browser.fill("asset", "USD (Scale: 2)").await;
    browser.click_text("Create").await;
    browser.find_text("Wallet address created.").await;
    browser.screenshot("14-wallet-addresses").await;
    let bob = format!("{}bob", happy.node().open_payments_url().as_str());
    browser.goto(&format!("{base}/payments")).await;
    browser
        .execute("const s = document.getElementById('from'); s.selectedIndex = 1;")
        .await;
    browser.fill("to", &bob).await;
    browser.fill("amount", "5").await;
    browser.click_text("Send").await;
    browser
        .find_text("Payment created and funded: it is on its way.")
        .await;
    browser.screenshot("15-payment-sending").await;
    browser.wait_for_text("#state", |t| t == "COMPLETED").await;
    browser.wait_for_text("#sent", |t| t == "5.00 USD").await;
    browser.screenshot("16-payment-completed").await;
    browser.goto(&format!("{base}/payments")).await;
    browser.find_text("COMPLETED").await;
    browser.screenshot("17-payments").await;

    // The asset's own page: its threshold, its liquidity, and a delete it refuses while in use.
    browser.goto(&format!("{base}/assets")).await;
    browser.click("table tr.link td a").await;
    browser.find_text("Asset: USD").await;
    browser.fill("withdrawalThreshold", "100").await;
    browser.click_text("Save").await;
    browser.find_text("Asset information was updated.").await;
    browser.click_text("Deposit liquidity").await;
    type_into(&browser, "#deposit-amount", "50").await;
    browser.click("#deposit button[type=submit]").await;
    browser.find_text("Deposited asset liquidity.").await;
    let before: u64 = cents(&browser.text("#liquidity").await);
    browser.click_text("Withdraw liquidity").await;
    type_into(&browser, "#withdraw-amount", "20").await;
    browser.click("#withdraw button[type=submit]").await;
    browser.find_text("Withdrew asset liquidity.").await;
    browser
        .wait_for_text("#liquidity", |t| cents(t) + 2000 == before)
        .await;
    browser.click_text("Delete asset").await;
    browser.fill("confirm", "delete asset").await;
    browser.click_text("Delete this asset").await;
    browser.find_text("Could not delete asset.").await;
    browser.screenshot("18-asset").await;

    browser.close().await;
    network.shutdown().await;
}
