//! What the admin API answered.

use cucumber::then;
use serde_json::json;

use crate::world::PeeringWorld;

#[then(expr = "the answer is {string} {string}")]
fn the_answer_is(w: &mut PeeringWorld, code: String, message: String) {
    let answer = w.answer();
    assert_eq!(answer["code"], json!(code), "code in {answer}");
    assert_eq!(answer["message"], json!(message), "message in {answer}");
    assert_eq!(
        answer["success"],
        json!(code == "200"),
        "success in {answer}"
    );
}

#[then("the answer has no liquidity error")]
fn no_liquidity_error(w: &mut PeeringWorld) {
    let answer = w.answer();
    assert_eq!(answer["error"], json!(null), "error in {answer}");
}

#[then(expr = "the answer's liquidity error is {word}")]
fn liquidity_error_is(w: &mut PeeringWorld, error: String) {
    let answer = w.answer();
    assert_eq!(answer["error"], json!(error), "error in {answer}");
    assert_eq!(answer["success"], json!(false), "success in {answer}");
}

#[then(expr = "the request is refused with a GraphQL error mentioning {string}")]
fn graphql_error_mentioning(w: &mut PeeringWorld, text: String) {
    let response = w.last_response.clone().expect("an answer");
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&text),
        "expected an error mentioning {text:?}: {response}"
    );
}

#[then(expr = "the request is refused because the field {string} does not exist")]
fn unknown_field(w: &mut PeeringWorld, field: String) {
    let response = w.last_response.clone().expect("an answer");
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("Unknown field") && message.contains(&format!("\"{field}\"")),
        "expected an unknown-field error for {field}: {response}"
    );
    assert!(
        response["data"].is_null(),
        "no data may come back: {response}"
    );
}

#[then(expr = "the admin API answers HTTP {int}")]
fn http_status(w: &mut PeeringWorld, status: u16) {
    assert_eq!(w.last_status, Some(status), "answer: {:?}", w.last_response);
}
