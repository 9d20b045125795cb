//! `peerlab steps`: the catalogue of the step library, read from what cucumber collected (each
//! step's keyword, pattern and source file), with one example sentence per step from [`EXAMPLES`]
//! since the collected steps carry no documentation. The tests below make the two agree: every
//! step has exactly one example, every example is matched by its own step and by no other, and
//! every example names a step that exists.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use cucumber::codegen::{Regex, StepConstructor, WorldInventory, inventory};
use cucumber_expressions::{Expression, SingleExpression};

use super::PeeringWorld;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Keyword {
    Given,
    When,
    Then,
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Given => "Given",
            Self::When => "When",
            Self::Then => "Then",
        })
    }
}

/// One step of the catalogue.
#[derive(Debug, Clone)]
pub struct Step {
    pub keyword: Keyword,
    /// The cucumber expression, or the regex (starting with `^`), as the step's attribute writes it.
    pub pattern: &'static str,
    /// `{string}`, `{int}`... for an expression; each capture group for a regex.
    pub parameters: Vec<String>,
    /// A sentence the step matches, without its keyword.
    pub example: &'static str,
    pub line: u32,
}

impl Step {
    pub fn is_regex(&self) -> bool {
        self.pattern.starts_with('^')
    }
}

/// The steps of one module of the library, in source order.
#[derive(Debug, Clone)]
pub struct Topic {
    pub title: String,
    /// The module's source file, as cucumber recorded it.
    pub file: &'static str,
    pub steps: Vec<Step>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(
        "the step `{keyword} {regex}` at {location} has no example in simulator/src/harness/catalogue.rs"
    )]
    NoExample {
        keyword: Keyword,
        regex: String,
        location: String,
    },
}

/// Topics in the order a peering is set up and exercised; a module not listed comes after them.
const TOPICS: &[(&str, &str)] = &[
    ("instances", "Instances"),
    ("topologies", "Topologies"),
    ("assets", "Assets"),
    ("peers", "Peers"),
    ("liquidity", "Liquidity"),
    ("withdrawals", "Withdrawals"),
    ("auto_peering", "Auto-peering"),
    ("packets", "Packets"),
    ("wallet_addresses", "Wallet addresses"),
    ("payments", "Payments and webhook events"),
    ("answers", "Answers and refusals"),
    ("auth", "Admin authentication"),
    ("faults", "Faults"),
];

/// A step as cucumber collected it.
pub(crate) struct Collected {
    pub(crate) keyword: Keyword,
    pub(crate) location: cucumber::step::Location,
    pub(crate) regex: Regex,
}

/// Every step definition cucumber collected for the library.
pub(crate) fn collected() -> Vec<Collected> {
    super::steps::keep_linked();
    fn of<T: StepConstructor<PeeringWorld> + inventory::Collect>(
        keyword: Keyword,
    ) -> impl Iterator<Item = Collected> {
        inventory::iter::<T>.into_iter().map(move |step| {
            let (location, regex, _) = step.inner();
            Collected {
                keyword,
                location,
                regex: regex(),
            }
        })
    }
    of::<<PeeringWorld as WorldInventory>::Given>(Keyword::Given)
        .chain(of::<<PeeringWorld as WorldInventory>::When>(Keyword::When))
        .chain(of::<<PeeringWorld as WorldInventory>::Then>(Keyword::Then))
        .collect()
}

/// The regex cucumber makes of a pattern of [`EXAMPLES`], as text: a regex stays itself, an
/// expression (or plain text) is compiled as cucumber's `expr = ...` compiles it. `None` when it
/// does not compile.
pub(crate) fn compiled(pattern: &str) -> Option<String> {
    if pattern.starts_with('^') {
        Regex::new(pattern)
            .ok()
            .map(|regex| regex.as_str().to_owned())
    } else {
        Expression::regex(pattern)
            .ok()
            .map(|regex| regex.as_str().to_owned())
    }
}

/// The catalogue: every collected step with its example, grouped by topic.
pub fn catalogue() -> Result<Vec<Topic>, CatalogueError> {
    let patterns: Vec<(Option<String>, &'static str, &'static str)> = EXAMPLES
        .iter()
        .map(|&(pattern, example)| (compiled(pattern), pattern, example))
        .collect();
    let mut topics: BTreeMap<(usize, &'static str), Topic> = BTreeMap::new();
    for step in collected() {
        let regex = step.regex.as_str();
        let Some(&(_, pattern, example)) = patterns
            .iter()
            .find(|(compiled, ..)| compiled.as_deref() == Some(regex))
        else {
            return Err(CatalogueError::NoExample {
                keyword: step.keyword,
                regex: regex.to_owned(),
                location: step.location.to_string(),
            });
        };
        let file = step.location.path;
        let stem = file
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(file)
            .trim_end_matches(".rs");
        let (order, title) = TOPICS
            .iter()
            .position(|&(module, _)| module == stem)
            .map(|at| (at, TOPICS[at].1.to_owned()))
            .unwrap_or_else(|| (TOPICS.len(), stem.replace('_', " ")));
        topics
            .entry((order, file))
            .or_insert_with(|| Topic {
                title,
                file,
                steps: Vec::new(),
            })
            .steps
            .push(Step {
                keyword: step.keyword,
                pattern,
                parameters: parameters(pattern),
                example,
                line: step.location.line,
            });
    }
    Ok(topics
        .into_values()
        .map(|mut topic| {
            // Source order: how the module's author grouped them.
            topic.steps.sort_by_key(|step| step.line);
            topic
        })
        .collect())
}

/// A pattern's parameters: an expression's `{...}`, or a regex's capture groups.
fn parameters(pattern: &str) -> Vec<String> {
    if pattern.starts_with('^') {
        return capture_groups(pattern);
    }
    match Expression::parse(pattern) {
        Ok(expression) => expression
            .0
            .iter()
            .filter_map(|item| match item {
                SingleExpression::Parameter(parameter) => Some(format!("{{{}}}", &**parameter)),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Each capturing group of a regex, as written, in the order it captures.
fn capture_groups(regex: &str) -> Vec<String> {
    let bytes = regex.as_bytes();
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut groups: Vec<(usize, String)> = Vec::new();
    let mut in_class = false;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => open.push((at, bytes.get(at + 1) != Some(&b'?'))),
            b')' if !in_class => {
                if let Some((start, capturing)) = open.pop()
                    && capturing
                {
                    groups.push((start, regex[start..=at].to_owned()));
                }
            }
            _ => {}
        }
        at += 1;
    }
    // Groups close inner first; they capture in the order they open.
    groups.sort_by_key(|&(start, _)| start);
    groups.into_iter().map(|(_, group)| group).collect()
}

fn count(topics: &[Topic]) -> usize {
    topics.iter().map(|topic| topic.steps.len()).sum()
}

const PARAMETERS: &str = "{string} is text in double quotes, {int} a whole number, {float} a \
decimal number, {word} one word without spaces; a regex step's parameters are its capture groups. \
`And` and `But` take the keyword of the step before them.";

/// `peerlab steps`.
pub fn render_text(topics: &[Topic]) -> String {
    let mut out = format!(
        "peerlab's steps: {} in {} topics.\nParameters: {PARAMETERS}\n",
        count(topics),
        topics.len()
    );
    for topic in topics {
        let _ = write!(out, "\n== {} ({})\n", topic.title, topic.file);
        for step in &topic.steps {
            let _ = writeln!(out, "\n{} {}", step.keyword, step.pattern);
            let kind = if step.is_regex() { "regex; " } else { "" };
            if !step.parameters.is_empty() {
                let _ = writeln!(out, "    {kind}parameters: {}", step.parameters.join(" "));
            }
            let _ = writeln!(out, "    e.g. {} {}", step.keyword, step.example);
        }
    }
    out
}

/// `peerlab steps --markdown`, committed as docs/steps.md.
pub fn render_markdown(topics: &[Topic]) -> String {
    let mut out = format!(
        "# peerlab's steps\n\n\
<!-- Generated by `peerlab steps --markdown > docs/steps.md`: do not edit by hand. -->\n\n\
The Gherkin steps `peerlab test` understands: {} steps in {} topics, each with an example. \
Parameters: {PARAMETERS}\n",
        count(topics),
        topics.len()
    );
    for topic in topics {
        let _ = write!(out, "\n## {}\n\nFrom `{}`.\n\n", topic.title, topic.file);
        for step in &topic.steps {
            let _ = writeln!(out, "- **{}** `{}`  ", step.keyword, step.pattern);
            if !step.parameters.is_empty() {
                let kind = if step.is_regex() {
                    "Regex; parameters"
                } else {
                    "Parameters"
                };
                let parameters: Vec<String> = step
                    .parameters
                    .iter()
                    .map(|parameter| format!("`{parameter}`"))
                    .collect();
                let _ = writeln!(out, "  {kind}: {}  ", parameters.join(", "));
            }
            let _ = writeln!(out, "  Example: `{} {}`", step.keyword, step.example);
        }
    }
    out
}

/// Each step's example, keyed by its pattern exactly as its `#[given]`, `#[when]` or `#[then]`
/// attribute writes it (a cucumber expression, or a regex starting with `^`). A new step needs a
/// line here: the catalogue refuses a step without one, and the tests say which.
const EXAMPLES: &[(&str, &str)] = &[
    // answers.rs
    (
        r#"the answer is {string} {string}"#,
        r#"the answer is "200" "ILP peer created or updated""#,
    ),
    (
        r#"the answer is {string} {string}, today {word} {string}"#,
        r#"the answer is "400" "Peer URL is invalid or peer does not support auto-peering", today NOT_FOUND "Peer URL is invalid or peer does not support auto-peering""#,
    ),
    (
        r#"the answer has no liquidity error"#,
        r#"the answer has no liquidity error"#,
    ),
    (
        r#"the answer's liquidity error is {word}"#,
        r#"the answer's liquidity error is BalanceOverflow"#,
    ),
    (
        r#"the request is refused with a GraphQL error mentioning {string}"#,
        r#"the request is refused with a GraphQL error mentioning "UInt64 maximum""#,
    ),
    (
        r#"the request is refused because the field {string} does not exist"#,
        r#"the request is refused because the field "incoming" does not exist"#,
    ),
    (
        r#"the error's code is {word}"#,
        r#"the error's code is BAD_USER_INPUT"#,
    ),
    (
        r#"the admin API answers HTTP {int}"#,
        r#"the admin API answers HTTP 401"#,
    ),
    // assets.rs
    (
        r#"{string} creates the asset {word} with scale {int} as the guide shows"#,
        r#""Cloud Nine" creates the asset USD with scale 2 as the guide shows"#,
    ),
    (
        r#"{string} has created the asset {word} with scale {int}"#,
        r#""Cloud Nine" has created the asset EUR with scale 2"#,
    ),
    (
        r#"both instances have the asset {word} with scale {int}"#,
        r#"both instances have the asset USD with scale 2"#,
    ),
    (
        r#"the answer's asset is {word} with scale {int}"#,
        r#"the answer's asset is USD with scale 2"#,
    ),
    (
        r#"{string} deletes the asset {word}"#,
        r#""Cloud Nine" deletes the asset USD"#,
    ),
    (
        r#"{string} deposits {int} into the asset {word}"#,
        r#""Cloud Nine" deposits 5000 into the asset USD"#,
    ),
    (
        r#"the {word} liquidity of {string} is {int}"#,
        r#"the USD liquidity of "Cloud Nine" is 5000"#,
    ),
    // auth.rs
    (
        r#"{string} is sent an unsigned request to create the asset {word}"#,
        r#""Cloud Nine" is sent an unsigned request to create the asset USD"#,
    ),
    (
        r#"the same signed request is sent to {string} again"#,
        r#"the same signed request is sent to "Cloud Nine" again"#,
    ),
    (
        r#"{string} is sent a request signed {int} seconds ago"#,
        r#""Cloud Nine" is sent a request signed 60 seconds ago"#,
    ),
    (
        r#"{string} is sent a request signed with the secret {string}"#,
        r#""Cloud Nine" is sent a request signed with the secret "wrong""#,
    ),
    (
        r#"{string} is sent a request naming the tenant {string}"#,
        r#""Cloud Nine" is sent a request naming the tenant "0f3e9b52-4a4e-4a61-8a64-6a4c5a1f2b11""#,
    ),
    (
        r#"{string} is sent a request without a tenant-id"#,
        r#""Cloud Nine" is sent a request without a tenant-id"#,
    ),
    // auto_peering.rs
    (
        r#"two fresh instances with auto-peering on, {string} at {string} and {string} at {string}"#,
        r#"two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank""#,
    ),
    (
        r#"{string} with auto-peering on and {string} with auto-peering off on a port of its own"#,
        r#""Cloud Nine" with auto-peering on and "Happy Life" with auto-peering off on a port of its own"#,
    ),
    (
        r#"{string} with its connector URL misconfigured as {string} and {string} with auto-peering on"#,
        r#""Cloud Nine" with its connector URL misconfigured as "http://cloud..nine:3002" and "Happy Life" with auto-peering on"#,
    ),
    (
        r#"{string} peers with {string} by its auto-peering URL in {word}, depositing {int}"#,
        r#""Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 5000"#,
    ),
    (
        r#"{string} peers with {string} by its auto-peering URL in {word}"#,
        r#""Cloud Nine" peers with "Happy Life" by its auto-peering URL in EUR"#,
    ),
    (
        r#"{string} peers with {string} by its auto-peering URL with the asset id {string}"#,
        r#""Cloud Nine" peers with "Happy Life" by its auto-peering URL with the asset id "b3dffeda-1e0e-47d4-82a3-69b1a622eeb9""#,
    ),
    (
        r#"{string} peers with {string} by the URL of that port in {word}"#,
        r#""Cloud Nine" peers with "Happy Life" by the URL of that port in USD"#,
    ),
    (
        r#"{string} peers with {string} by the URL of its admin API in {word}"#,
        r#""Cloud Nine" peers with "Happy Life" by the URL of its admin API in USD"#,
    ),
    (
        r#"nothing answers on the auto-peering port of {string}"#,
        r#"nothing answers on the auto-peering port of "Happy Life""#,
    ),
    (
        r#"the answer's peer is named {string} at {string}"#,
        r#"the answer's peer is named "Happy Life" at "test.happy-life-bank""#,
    ),
    (
        r#"the peer of {string} at {string} has liquidity {int} in {word}"#,
        r#"the peer of "Cloud Nine" at "test.happy-life-bank" has liquidity 5000 in USD"#,
    ),
    (
        r#"^someone asks "([^"]+)" to auto-peer with (the static ILP address "([^"]*)"|the connector URL "([^"]*)"|the asset "(\w+)"|a body that is not JSON|no httpToken)$"#,
        r#"someone asks "Happy Life" to auto-peer with the asset "EUR""#,
    ),
    (
        r#"the auto-peering server answers {int} {string} {string}"#,
        r#"the auto-peering server answers 404 "UnknownAsset" "Unknown asset""#,
    ),
    // faults.rs
    (
        r#"the link from {string} to {string} runs through a fault proxy"#,
        r#"the link from "cloud" to "happy" runs through a fault proxy"#,
    ),
    (
        r#"the link from {string} to {string} is cut"#,
        r#"the link from "cloud" to "happy" is cut"#,
    ),
    (
        r#"the link from {string} to {string} answers HTTP 500"#,
        r#"the link from "cloud" to "happy" answers HTTP 500"#,
    ),
    (
        r#"the link from {string} to {string} is slowed by {int} ms"#,
        r#"the link from "cloud" to "happy" is slowed by 100 ms"#,
    ),
    (
        r#"the link from {string} to {string} heals after {float} seconds"#,
        r#"the link from "cloud" to "happy" heals after 0.2 seconds"#,
    ),
    (
        r#"the link from {string} to {string} reorders packets, holding each up to {int} ms"#,
        r#"the link from "cloud" to "happy" reorders packets, holding each up to 40 ms"#,
    ),
    (
        r#"the link from {string} to {string} delivers every packet twice"#,
        r#"the link from "cloud" to "happy" delivers every packet twice"#,
    ),
    (
        r#"the link from {string} to {string} cuts every reply"#,
        r#"the link from "cloud" to "happy" cuts every reply"#,
    ),
    (
        r#"the link from {string} to {string} delivered packets twice"#,
        r#"the link from "cloud" to "happy" delivered packets twice"#,
    ),
    (
        r#"the link from {string} to {string} cut replies"#,
        r#"the link from "cloud" to "happy" cut replies"#,
    ),
    (
        r#"{string} takes packets of at most {int} from {string}"#,
        r#""happy" takes packets of at most 50 from "cloud""#,
    ),
    (
        r#"the clock of {string} runs {int} ms ahead"#,
        r#"the clock of "happy" runs 5000 ms ahead"#,
    ),
    (
        r#"the clock of {string} runs {int} ms behind"#,
        r#"the clock of "happy" runs 5000 ms behind"#,
    ),
    (
        r#"{string} presents a wrong token to {string}"#,
        r#""cloud" presents a wrong token to "happy""#,
    ),
    (
        r#"{string} presents its right token to {string} again after {float} seconds"#,
        r#""cloud" presents its right token to "happy" again after 0.1 seconds"#,
    ),
    (
        r#"{string} stops at once, as a crash"#,
        r#""happy" stops at once, as a crash"#,
    ),
    (
        r#"{string} serves again after {float} seconds"#,
        r#""happy" serves again after 0.2 seconds"#,
    ),
    // instances.rs
    (
        r#"two fresh instances, {string} at {string} and {string} at {string}"#,
        r#"two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank""#,
    ),
    (
        r#"two fresh instances whose admin APIs require the operator tenant {string}"#,
        r#"two fresh instances whose admin APIs require the operator tenant "438fa74a-fa7d-4317-9ced-dde32ece1787""#,
    ),
    (
        r#"two fresh instances whose admin APIs require signatures with the secret {string}"#,
        r#"two fresh instances whose admin APIs require signatures with the secret "s3cr3t""#,
    ),
    // liquidity.rs
    (
        r#"{string} adds {int} of liquidity to its peer {string} as the guide shows"#,
        r#""Cloud Nine" adds 10000 of liquidity to its peer "Happy Life" as the guide shows"#,
    ),
    (
        r#"{string} has added {int} of liquidity to its peer {string}"#,
        r#""Cloud Nine" has added 10000 of liquidity to its peer "Happy Life""#,
    ),
    (
        r#"{string} adds {int} of liquidity to its peer {string} with the transfer id {string}"#,
        r#""Cloud Nine" adds 10 of liquidity to its peer "Happy Life" with the transfer id "a09b730d-8610-4fda-98fa-ec7acb19c775""#,
    ),
    (
        r#"^"([^"]+)" adds liquidity to its peer "([^"]+)" with (an amount of 0|an unknown peer id|the transfer id "([^"]*)")$"#,
        r#""Cloud Nine" adds liquidity to its peer "Happy Life" with an amount of 0"#,
    ),
    (
        r#"^"([^"]+)" adds liquidity to its peer "([^"]+)" with the raw amount (.+)$"#,
        r#""Cloud Nine" adds liquidity to its peer "Happy Life" with the raw amount "ten""#,
    ),
    (
        r#"{string} deposits {int} into its peer {string} with depositPeerLiquidity"#,
        r#""Cloud Nine" deposits 50 into its peer "Happy Life" with depositPeerLiquidity"#,
    ),
    (
        r#"{string} deposits {int} into its peer {string} with idempotency key {string}"#,
        r#""Cloud Nine" deposits 70 into its peer "Happy Life" with idempotency key "deposit-1""#,
    ),
    (
        r#"{string} sends exactly the same deposit again"#,
        r#""Cloud Nine" sends exactly the same deposit again"#,
    ),
    (
        r#"{string} sends the same deposit again but with the amount {int}"#,
        r#""Cloud Nine" sends the same deposit again but with the amount 80"#,
    ),
    (
        r#"{string} sends the same deposit again but with the peer id of its peer {string}"#,
        r#""Cloud Nine" sends the same deposit again but with the peer id of its peer "test.other-bank""#,
    ),
    // packets.rs
    (
        r#"^instances ((?:"\w+"(?:, | and )?)+) peered in a line with (\d+) of liquidity each way$"#,
        r#"instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way"#,
    ),
    (
        r#"a client of {string} with a line of credit of {int}"#,
        r#"a client of "Cloud Nine" with a line of credit of 1000"#,
    ),
    (
        r#"a client of {string} with a line of credit of {int} and a max packet amount of {int}"#,
        r#"a client of "a" with a line of credit of 10000 and a max packet amount of 500"#,
    ),
    (
        r#"a receiver behind {string}"#,
        r#"a receiver behind "Happy Life""#,
    ),
    (
        r#"a receiver behind {string} that takes {int} seconds to answer"#,
        r#"a receiver behind "b" that takes 5 seconds to answer"#,
    ),
    (
        r#"{string} has a peer {string} whose connector is not running"#,
        r#""b" has a peer "test.b.gone" whose connector is not running"#,
    ),
    (
        r#"the client sends a packet of {int} to the receiver"#,
        r#"the client sends a packet of 100 to the receiver"#,
    ),
    (
        r#"the client sends a packet of {int} to the receiver that expires in {float} seconds"#,
        r#"the client sends a packet of 5 to the receiver that expires in 1.5 seconds"#,
    ),
    (
        r#"the client sends a packet of {int} to {string}"#,
        r#"the client sends a packet of 5 to "test.b.gone.x""#,
    ),
    (
        r#"the client asks {string} for its configuration with IL-DCP"#,
        r#"the client asks "a" for its configuration with IL-DCP"#,
    ),
    (r#"the packet is fulfilled"#, r#"the packet is fulfilled"#),
    (
        r#"the packet is rejected with {word} by {string}"#,
        r#"the packet is rejected with T04 by "test.a""#,
    ),
    (
        r#"the reject message is {string}"#,
        r#"the reject message is "unknown destination account""#,
    ),
    (
        r#"the reject message starts with {string}"#,
        r#"the reject message starts with "source transfer expires too soon to complete payment. actualSourceExpiry=""#,
    ),
    (
        r#"the reject says {int} was received and at most {int} is allowed"#,
        r#"the reject says 501 was received and at most 500 is allowed"#,
    ),
    (
        r#"it learns the address {string} and the asset {word} with scale {int}"#,
        r#"it learns the address "test.client" and the asset USD with scale 2"#,
    ),
    (
        r#"{string} grants the client {int}"#,
        r#""a" grants the client 9300"#,
    ),
    (
        r#"{string} grants {string} {int}"#,
        r#""cloud" grants "happy" 10000500"#,
    ),
    (
        r#"the receiver has been paid {int}"#,
        r#"the receiver has been paid 700"#,
    ),
    (
        r#"no liquidity is held by packets in flight"#,
        r#"no liquidity is held by packets in flight"#,
    ),
    // payments.rs
    (
        r#"instances {string} and {string} peered in USD with {int} of liquidity each way, {string} also holding EUR at {float} per USD"#,
        r#"instances "cloud" and "happy" peered in USD with 10000000 of liquidity each way, "happy" also holding EUR at 0.91 per USD"#,
    ),
    (
        r#"^((?:"\w+"(?:, | and )?)+) (?:has|have) the wallet address "([^"]+)" in (\w+)$"#,
        r#""cloud" has the wallet address "alice" in USD"#,
    ),
    (
        r#"{string} creates a receiver for {string} at {string} expecting {int} {word}"#,
        r#""cloud" creates a receiver for "bob" at "happy" expecting 500 USD"#,
    ),
    (
        r#"{string} creates a receiver for {string} at {string}"#,
        r#""cloud" creates a receiver for "bob" at "happy""#,
    ),
    (
        r#"{string} quotes paying the receiver from {string}"#,
        r#""cloud" quotes paying the receiver from "alice""#,
    ),
    (
        r#"{string} quotes paying the receiver from {string} to receive {int} {word}"#,
        r#""cloud" quotes paying the receiver from "alice" to receive 500 EUR"#,
    ),
    (
        r#"{string} quotes paying the receiver from {string} to send {int} {word}"#,
        r#""cloud" quotes paying the receiver from "alice" to send 500 USD"#,
    ),
    (
        r#"the quote debits {int} {word} and receives {int} {word}"#,
        r#"the quote debits 506 USD and receives 500 USD"#,
    ),
    (
        r#"{string} creates the outgoing payment from {string} with the quote"#,
        r#""cloud" creates the outgoing payment from "alice" with the quote"#,
    ),
    (
        r#"{string} creates an outgoing payment from {string} straight from the receiver"#,
        r#""cloud" creates an outgoing payment from "alice" straight from the receiver"#,
    ),
    (
        r#"the outgoing payment is funded"#,
        r#"the outgoing payment is funded"#,
    ),
    (
        r#"{string} has paid {string} at {string} {int} {word} from {string} with a quote, an outgoing payment and its funding"#,
        r#""cloud" has paid "bob" at "happy" 300 USD from "alice" with a quote, an outgoing payment and its funding"#,
    ),
    (
        r#"the outgoing payment is {word}"#,
        r#"the outgoing payment is funded"#,
    ),
    (
        r#"the outgoing payment is still SENDING after {float} seconds"#,
        r#"the outgoing payment is still SENDING after 0.3 seconds"#,
    ),
    (
        r#"the outgoing payment completes having sent {int} {word}"#,
        r#"the outgoing payment completes having sent 500 USD"#,
    ),
    (
        r#"the outgoing payment fails with an error containing {string}"#,
        r#"the outgoing payment fails with an error containing "no route""#,
    ),
    (
        r#"the incoming payment is {word} having received {int} {word}"#,
        r#"the incoming payment is COMPLETED having received 500 USD"#,
    ),
    (
        r#"{string} lets {string} send only {int} more"#,
        r#""happy" lets "cloud" send only 100 more"#,
    ),
    (
        r#"{string} adds {int} to the liquidity it grants {string}"#,
        r#""happy" adds 10000 to the liquidity it grants "cloud""#,
    ),
    (
        r#"{string} is warned when the liquidity it grants {string} falls to {int}"#,
        r#""happy" is warned when the liquidity it grants "cloud" falls to 9999600"#,
    ),
    (
        r#"{string} has recorded the events {string}"#,
        r#""cloud" has recorded the events "outgoing_payment.created, outgoing_payment.completed""#,
    ),
    (
        r#"the {string} event of {string} is about its peer {string} with a balance of {int}"#,
        r#"the "peer.liquidity_low" event of "happy" is about its peer "cloud" with a balance of 9999500"#,
    ),
    // peers.rs
    (
        r#"{string} creates a peer for {string} in {word} as the guide shows, named {string}, accepting token {string} and sending token {string}"#,
        r#""Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, named "The Other Great Wallet", accepting token "mytoken" and sending token "theirtoken""#,
    ),
    (
        r#"{string} creates a peer for {string} in {word} as the guide shows, with initial liquidity {int}"#,
        r#""Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, with initial liquidity 10000"#,
    ),
    (
        r#"{string} and {string} are peered in {word} with scale {int}"#,
        r#""Cloud Nine" and "Happy Life" are peered in USD with scale 2"#,
    ),
    (
        r#"{string} creates another peer for {string} in {word} accepting token {string}"#,
        r#""Cloud Nine" creates another peer for "Happy Life" in USD accepting token "another-token""#,
    ),
    (
        r#"{string} creates a peer for {string} in {word} accepting token {string}"#,
        r#""Cloud Nine" creates a peer for "Happy Life" in USD accepting token "shared-token""#,
    ),
    (
        r#"{string} has a peer {string} in {word} accepting token {string}"#,
        r#""Cloud Nine" has a peer "test.other-bank" in USD accepting token "other-bank-token""#,
    ),
    (
        r#"^"([^"]+)" creates a peer for "([^"]+)" in (\w+) with its (static ILP address|endpoint|asset id) set to "([^"]*)"$"#,
        r#""Cloud Nine" creates a peer for "Happy Life" in USD with its endpoint set to "ftp://peer.example""#,
    ),
    (
        r#"{string} creates a peer with address {string}, endpoint {string} and asset id {string}"#,
        r#""Cloud Nine" creates a peer with address "test.hello!", endpoint "nope" and asset id "nope""#,
    ),
    (
        r#"the answer's peer is {string} at {string} in {word} with scale {int}"#,
        r#"the answer's peer is "The Other Great Wallet" at "test.happy-life-bank" in USD with scale 2"#,
    ),
    (
        r#"{string} has {int} peer(s)"#,
        r#""Cloud Nine" has 1 peer"#,
    ),
    (
        r#"{string} sends packets for {string} to the connector of {string} with token {string}"#,
        r#""Cloud Nine" sends packets for "Happy Life" to the connector of "Happy Life" with token "theirtoken""#,
    ),
    (
        r#"the liquidity {string} grants {string} in {word} is {int}"#,
        r#"the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000"#,
    ),
    (
        r#"{string} asks for the incoming tokens of its peer {string}"#,
        r#""Cloud Nine" asks for the incoming tokens of its peer "Happy Life""#,
    ),
    (
        r#"{string} routes {string} in {word} to its {word} peer for {string}"#,
        r#""Cloud Nine" routes "test.happy-life-bank.alice" in EUR to its EUR peer for "Happy Life""#,
    ),
    (
        r#"{string} renames its peer {string} to {string} with a max packet amount of {int}"#,
        r#""Cloud Nine" renames its peer "Happy Life" to "Wall-y" with a max packet amount of 1000"#,
    ),
    (
        r#"{string}'s peer {string} is named {string} with a max packet amount of {string}"#,
        r#""Cloud Nine"'s peer "Happy Life" is named "Wall-y" with a max packet amount of "1000""#,
    ),
    (
        r#"{string} deletes its peer {string}"#,
        r#""Cloud Nine" deletes its peer "Happy Life""#,
    ),
    // topologies.rs
    (r#"the network {string}"#, r#"the network "line-5""#),
    // wallet_addresses.rs
    (
        r#"{string} creates the wallet address {string} in {word} named {string}"#,
        r#""Cloud Nine" creates the wallet address "alice" in USD named "Alice""#,
    ),
    (
        r#"{string} has created the wallet address {string} in {word} named {string}"#,
        r#""Cloud Nine" has created the wallet address "alice" in USD named "Alice""#,
    ),
    (
        r#"{string} deactivates the wallet address {string}"#,
        r#""Cloud Nine" deactivates the wallet address "alice""#,
    ),
    (
        r#"the wallet address {string} of {string} is named {string} in {word}, {word}, holding {int}"#,
        r#"the wallet address "alice" of "Cloud Nine" is named "Alice" in USD, ACTIVE, holding 0"#,
    ),
    (
        r#"{string} has {int} wallet address(es)"#,
        r#""Cloud Nine" has 1 wallet address"#,
    ),
    // withdrawals.rs
    (
        r#"{string} creates the withdrawal {string} of {int} from its peer {string} as the guide shows"#,
        r#""Cloud Nine" creates the withdrawal "w1" of 5000 from its peer "Happy Life" as the guide shows"#,
    ),
    (
        r#"{string} has created the withdrawal {string} of {int} from its peer {string}"#,
        r#""Cloud Nine" has created the withdrawal "w1" of 100 from its peer "Happy Life""#,
    ),
    (
        r#"{string} creates the withdrawal {string} of {int} from its peer {string} that expires after {int} second(s)"#,
        r#""Cloud Nine" creates the withdrawal "w1" of 2500 from its peer "Happy Life" that expires after 1 second"#,
    ),
    (
        r#"{string} creates the withdrawal {string} of {int} from its peer {string} with idempotency key {string}"#,
        r#""Cloud Nine" creates the withdrawal "w1" of 100 from its peer "Happy Life" with idempotency key "withdraw-1""#,
    ),
    (
        r#"{string} sends the same withdrawal again but with the amount {int}"#,
        r#""Cloud Nine" sends the same withdrawal again but with the amount 200"#,
    ),
    (
        r#"{string} sends the same withdrawal again but with a timeout of {int} second(s)"#,
        r#""Cloud Nine" sends the same withdrawal again but with a timeout of 60 seconds"#,
    ),
    (
        r#"^"([^"]+)" (posts|voids) the withdrawal "([^"]+)" as the guide shows$"#,
        r#""Cloud Nine" voids the withdrawal "w1" as the guide shows"#,
    ),
    (
        r#"^"([^"]+)" has (posted|voided) the withdrawal "([^"]+)"$"#,
        r#""Cloud Nine" has voided the withdrawal "w1""#,
    ),
    (
        r#"{string} posts the withdrawal with id {string}"#,
        r#""Cloud Nine" posts the withdrawal with id "25e4ae5b-e844-49f6-89fa-34f33bc03278""#,
    ),
    (
        r#"{string} posts the withdrawal {string} with idempotency key {string}"#,
        r#""Cloud Nine" posts the withdrawal "w1" with idempotency key "post-1""#,
    ),
    (r#"{float} seconds pass"#, r#"1.2 seconds pass"#),
    (
        r#"{string} creates {int} withdrawals of {int} from its peer {string} at the same time"#,
        r#""Cloud Nine" creates 50 withdrawals of 300 from its peer "Happy Life" at the same time"#,
    ),
    (
        r#"exactly {int} of them succeed and the others are refused for insufficient balance"#,
        r#"exactly 33 of them succeed and the others are refused for insufficient balance"#,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each collected step with the patterns of [`EXAMPLES`] that compile to its regex.
    fn linked() -> Vec<(Collected, Vec<&'static (&'static str, &'static str)>)> {
        // Compiled once: a regex compiles slowly in a debug build.
        let patterns: Vec<_> = EXAMPLES
            .iter()
            .map(|entry| (compiled(entry.0), entry))
            .collect();
        collected()
            .into_iter()
            .map(|step| {
                let entries = patterns
                    .iter()
                    .filter(|(compiled, _)| compiled.as_deref() == Some(step.regex.as_str()))
                    .map(|&(_, entry)| entry)
                    .collect();
                (step, entries)
            })
            .collect()
    }

    #[test]
    fn every_step_has_exactly_one_example() {
        let linked = linked();
        assert!(linked.len() > 100, "{} steps collected", linked.len());
        let wrong: Vec<String> = linked
            .iter()
            .filter(|(_, entries)| entries.len() != 1)
            .map(|(step, entries)| {
                format!(
                    "{} {} at {}: {} entries in EXAMPLES",
                    step.keyword,
                    step.regex,
                    step.location,
                    entries.len()
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
        assert_eq!(
            catalogue().map(|topics| count(&topics)).ok(),
            Some(linked.len())
        );
    }

    #[test]
    fn every_example_names_a_step_that_exists() {
        let regexes: Vec<String> = collected()
            .iter()
            .map(|step| step.regex.as_str().to_owned())
            .collect();
        let orphans: Vec<&str> = EXAMPLES
            .iter()
            .filter(|(pattern, _)| compiled(pattern).is_none_or(|regex| !regexes.contains(&regex)))
            .map(|(pattern, _)| *pattern)
            .collect();
        assert!(
            orphans.is_empty(),
            "no step has these patterns: {orphans:#?}"
        );
    }

    /// cucumber matches a step's text against the steps of its keyword; two matches are an
    /// ambiguity, so an example must be matched by its own step alone.
    #[test]
    fn every_example_matches_its_own_step_and_no_other() {
        let linked = linked();
        let mut wrong = Vec::new();
        for (step, entries) in &linked {
            for &&(pattern, example) in entries {
                if !step.regex.is_match(example) {
                    wrong.push(format!(
                        "{pattern:?} does not match its example {example:?}"
                    ));
                }
                let compiled = Expression::regex(pattern).ok();
                if !pattern.starts_with('^')
                    && !compiled.is_some_and(|regex| regex.is_match(example))
                {
                    wrong.push(format!(
                        "{pattern:?} compiled by cucumber-expressions does not match {example:?}"
                    ));
                }
                for (other, _) in &linked {
                    if other.keyword == step.keyword
                        && other.location != step.location
                        && other.regex.is_match(example)
                    {
                        wrong.push(format!(
                            "{example:?}, the example of {pattern:?}, also matches {} at {}",
                            other.regex, other.location
                        ));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_regex_step_lists_its_capture_groups_in_order() {
        assert_eq!(
            capture_groups(
                r#"^"([^"]+)" has (posted|voided) the withdrawal "(?:[^"]+)" (a(\d+))$"#
            ),
            [r#"([^"]+)"#, "(posted|voided)", r"(a(\d+))", r"(\d+)"]
        );
        assert_eq!(
            parameters("{string} adds {int} of liquidity in {word} at {float}"),
            ["{string}", "{int}", "{word}", "{float}"]
        );
    }

    #[test]
    fn every_step_is_in_a_named_topic() {
        let topics = catalogue().expect("a catalogue");
        let titles: Vec<&str> = topics.iter().map(|topic| topic.title.as_str()).collect();
        let named: Vec<&str> = TOPICS.iter().map(|&(_, title)| title).collect();
        assert_eq!(titles, named);
    }
}
