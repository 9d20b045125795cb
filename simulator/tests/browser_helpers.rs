//! The browser-test helpers themselves (simulator/tests/browser), on a small form served from a
//! `data:` URL: fields found by label (`for` and nesting) and by name, a select, buttons and
//! links by their text, text found and waited for, and a screenshot written where promised.

mod browser;

use browser::Browser;

/// A form whose button writes what was entered into `#result` after a short delay, as a page
/// that answers asynchronously would.
const FORM: &str = r#"<!doctype html><html><body>
<form onsubmit="return false">
<label for="name-field">Peer name</label><input id="name-field">
<label>Static ILP address <input id="address"></label>
<input name="maxPacketAmount" value="old">
<label for="asset">Asset</label><select id="asset"><option>USD</option><option>EUR</option></select>
<button type="button" onclick="setTimeout(function(){document.getElementById('result').textContent=[document.getElementById('name-field').value,document.getElementById('address').value,document.querySelector('[name=maxPacketAmount]').value,document.getElementById('asset').value].join(' | ')},300)">Create Peer</button>
<a href="javascript:void(0)" onclick="document.getElementById('result').textContent='cancelled: it\'s off'">Cancel</a>
</form><p id="result"></p></body></html>"#;

fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for byte in html.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[tokio::test]
async fn helpers_fill_click_find_and_wait() {
    let browser = Browser::start("helpers_fill_click_find_and_wait").await;
    browser.goto(&data_url(FORM)).await;
    browser.fill("Peer name", "Happy Life Bank").await;
    browser
        .fill("Static ILP address", "test.happy-life-bank")
        .await;
    browser.fill("maxPacketAmount", "1000").await;
    browser.fill("Asset", "EUR").await;
    browser.click_text("Create Peer").await;
    let result = browser
        .wait_for_text("#result", |text| !text.is_empty())
        .await;
    assert_eq!(
        result,
        "Happy Life Bank | test.happy-life-bank | 1000 | EUR"
    );
    let shot = browser.screenshot("filled").await;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", shot.display());
    assert!(shot.starts_with(env!("CARGO_TARGET_TMPDIR")));

    browser.click_text("Cancel").await;
    // Text with a quote in it is found too (XPath literals are built for it).
    let found = browser.find_text("cancelled: it's off").await;
    assert_eq!(found.attr("id").await.unwrap().as_deref(), Some("result"));
    browser.close().await;
}
