//! Browser tests' shared machinery: real headless Chromium (Debian's `chromium`), driven over
//! WebDriver through Debian's `chromedriver` with `fantoccini`. A test file includes it with
//! `mod browser;` and starts a [`Browser`] per test:
//!
//! ```ignore
//! let browser = Browser::start("my_test").await;
//! browser.goto(&url).await;
//! browser.fill("Name", "Peer A").await;
//! browser.click_text("Create").await;
//! browser.wait_for_text("#flash", |text| text.contains("created")).await;
//! browser.screenshot("created").await;
//! browser.close().await;
//! ```
//!
//! Each browser has its own chromedriver (on a free port, killed when the browser is dropped)
//! and its own fresh profile, so tests run in parallel. Everything that looks for something
//! waits for it, up to [`WAIT`], polling: pages that update themselves need no sleeps. Failures
//! panic with what was looked for: these are test helpers. Screenshots are saved under the
//! test's output directory, `$CARGO_TARGET_TMPDIR/browser/<test>/<name>.png`, and their paths
//! printed, so a reviewer can look at every page a test saw.

#![allow(dead_code)] // Each test file uses the helpers it needs.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The longest any helper waits for the page to show what it is asked for.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often a waiting helper looks again.
const POLL: Duration = Duration::from_millis(100);
/// How long chromedriver gets to start listening.
const DRIVER_START: Duration = Duration::from_secs(10);

/// A headless Chromium session for one test.
pub struct Browser {
    client: Client,
    driver: Child,
    /// `$CARGO_TARGET_TMPDIR/browser/<test>`: screenshots, chromedriver's log, the profile.
    output: PathBuf,
    profile: PathBuf,
}

/// Installs chromium and chromedriver when they are missing (the script is a no-op otherwise).
fn install() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-chromium.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .unwrap_or_else(|error| panic!("running {}: {error}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// An XPath string literal for `text`, whatever quotes it holds.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        return format!("'{text}'");
    }
    if !text.contains('"') {
        return format!("\"{text}\"");
    }
    let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for the test `test` (its name names its
    /// output directory; the directory is emptied first, so it shows this run only).
    pub async fn start(test: &str) -> Self {
        install();
        let output = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(test);
        let _ = std::fs::remove_dir_all(&output);
        let profile = output.join("profile");
        std::fs::create_dir_all(&profile)
            .unwrap_or_else(|error| panic!("creating {}: {error}", profile.display()));
        let (driver, port) = start_driver(&output);
        let mut capabilities = serde_json::Map::new();
        let mut chrome_options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        });
        if Path::new("/usr/bin/chromium").exists() {
            chrome_options["binary"] = json!("/usr/bin/chromium");
        }
        capabilities.insert("goog:chromeOptions".to_owned(), chrome_options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "opening a Chromium session (chromedriver log: {}): {error}",
                    output.join("chromedriver.log").display()
                )
            });
        Self {
            client,
            driver,
            output,
            profile,
        }
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This test's output directory.
    pub fn output_dir(&self) -> &Path {
        &self.output
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("opening {url}: {error}"));
    }

    /// Waits until `check` gives a value, and returns it; panics naming `what` after [`WAIT`].
    pub async fn wait_until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() >= deadline {
                let shot = self.screenshot("timed-out").await;
                panic!(
                    "waited {WAIT:?} for {what}; the page then: {}",
                    shot.display()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first element matching the CSS selector, once there is one.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_until(&format!("an element {css}"), || async {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Every element matching the CSS selector now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("looking for {css}: {error}"))
    }

    /// The innermost element whose own text contains `text`, once there is one.
    pub async fn find_text(&self, text: &str) -> Element {
        let xpath = format!(
            "//*[text()[contains(normalize-space(.), {})]]",
            xpath_literal(text)
        );
        self.wait_until(&format!("an element showing {text:?}"), || async {
            self.client.find(Locator::XPath(&xpath)).await.ok()
        })
        .await
    }

    /// The form field (input, select or textarea) labelled `label` (by `<label for>` or by
    /// being inside the label) or, failing that, named `label`.
    pub async fn field(&self, label: &str) -> Element {
        let literal = xpath_literal(label);
        let xpath = format!(
            "//*[self::input or self::select or self::textarea][@id = //label[normalize-space(.) = {literal}]/@for] \
             | //label[normalize-space(.) = {literal}]//*[self::input or self::select or self::textarea] \
             | //*[self::input or self::select or self::textarea][@name = {literal}]"
        );
        self.wait_until(&format!("a field labelled or named {label:?}"), || async {
            self.client.find(Locator::XPath(&xpath)).await.ok()
        })
        .await
    }

    /// Replaces what the field labelled or named `label` holds with `value` (a select picks
    /// the option of that label).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        let tag = field.tag_name().await.unwrap_or_default();
        let filled = if tag.eq_ignore_ascii_case("select") {
            field.select_by_label(value).await
        } else {
            match field.clear().await {
                Ok(()) => field.send_keys(value).await,
                Err(error) => Err(error),
            }
        };
        filled.unwrap_or_else(|error| panic!("filling {label:?} with {value:?}: {error}"));
    }

    /// Clicks the first element matching the CSS selector, once there is one.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {css}: {error}"));
    }

    /// Clicks the button or link showing `text` (or the element whose own text holds it).
    pub async fn click_text(&self, text: &str) {
        let literal = xpath_literal(text);
        let xpath = format!(
            "//*[self::button or self::a or @role='button'][normalize-space(.) = {literal}] \
             | //input[(@type='submit' or @type='button') and @value = {literal}]"
        );
        let element = self
            .wait_until(&format!("a button or link {text:?}"), || async {
                self.client.find(Locator::XPath(&xpath)).await.ok()
            })
            .await;
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {text:?}: {error}"));
    }

    /// The text content of the first element matching the CSS selector (HTML or SVG), once
    /// there is one.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        text_of(&element).await.unwrap_or_default()
    }

    /// Waits until the text of the first element matching `css` satisfies `accept`, and
    /// returns that text.
    pub async fn wait_for_text(&self, css: &str, accept: impl Fn(&str) -> bool) -> String {
        let accept = &accept;
        self.wait_until(&format!("the text of {css} to be as expected"), || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = text_of(&element).await?;
            accept(&text).then_some(text)
        })
        .await
    }

    /// Runs `script` in the page (`return ...` gives a value).
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("running a script: {error}"))
    }

    /// Saves what the page shows as `<output dir>/<name>.png`, prints the path, returns it.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.output.join(format!("{name}.png"));
        match self.client.screenshot().await {
            Ok(png) => match std::fs::write(&path, png) {
                Ok(()) => println!("screenshot: {}", path.display()),
                Err(error) => println!("screenshot {}: cannot write: {error}", path.display()),
            },
            Err(error) => println!("screenshot {}: cannot take: {error}", path.display()),
        }
        path
    }

    /// Ends the session (Chromium quits); chromedriver goes when the browser is dropped.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `textContent`: what an element shows, for SVG text as much as for HTML.
async fn text_of(element: &Element) -> Option<String> {
    element
        .prop("textContent")
        .await
        .ok()
        .flatten()
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Starts chromedriver on a free port, logging to the output directory, and waits until it
/// listens. A port taken between choosing it and chromedriver binding it (tests run in
/// parallel) makes chromedriver exit: another port is tried.
fn start_driver(output: &Path) -> (Child, u16) {
    let log = output.join("chromedriver.log");
    for _ in 0..5 {
        let port = free_port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting chromedriver: {error}"));
        let deadline = Instant::now() + DRIVER_START;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = driver.try_wait() {
                break;
            }
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            if TcpStream::connect_timeout(&address, POLL).is_ok() {
                return (driver, port);
            }
            std::thread::sleep(POLL);
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    panic!("chromedriver did not start; its log: {}", log.display());
}
