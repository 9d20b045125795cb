//! What the admin API answered.

use cucumber::then;
use serde_json::json;

use crate::harness::world::{Dialect, PeeringWorld, is_nullable_mutation};

/// A success ("200"), in either dialect: the seed era's payload says so; today's answer has no
/// error and the mutation's payload.
#[then(expr = "the answer is {string} {string}")]
fn the_answer_is(w: &mut PeeringWorld, code: String, message: String) {
    assert_eq!(
        code, "200",
        "a refusal must say what today's Rafiki answers too: `the answer is \"{code}\" \"{message}\", today CODE \"message\"`"
    );
    let answer = w.answer();
    match w.last_dialect() {
        Dialect::Seed => {
            assert_eq!(answer["code"], json!(code), "code in {answer}");
            assert_eq!(answer["message"], json!(message), "message in {answer}");
        }
        Dialect::V2 => {
            assert!(answer.is_object(), "a payload in {}", w.response());
            for field in ["code", "message", "error"] {
                assert!(
                    answer.get(field).is_none(),
                    "{field} was selected: {answer}"
                );
            }
        }
    }
    if let Some(success) = answer.get("success") {
        assert_eq!(success, &json!(true), "success in {answer}");
    }
}

/// A refusal: the seed era's payload `code` and `message`, or today's GraphQL error with its
/// `extensions.code` and message.
#[then(expr = "the answer is {string} {string}, today {word} {string}")]
fn the_refusal_is(
    w: &mut PeeringWorld,
    code: String,
    message: String,
    today_code: String,
    today_message: String,
) {
    w.assert_refused((&code, &message), (&today_code, &today_message));
}

/// A liquidity mutation answered without a refusal: the seed era's `error` is null; today's
/// clients do not select it, and `answer` insists there was no GraphQL error.
#[then("the answer has no liquidity error")]
fn no_liquidity_error(w: &mut PeeringWorld) {
    let answer = w.answer();
    let expected = match w.last_dialect() {
        Dialect::Seed => Some(&serde_json::Value::Null),
        Dialect::V2 => None,
    };
    assert_eq!(answer.get("error"), expected, "error in {answer}");
}

/// The seed era's `error` field of a refused liquidity mutation. Today's clients do not select
/// it: for them the mutation's value is null, with an error (whose message and code the step
/// before this one checks).
#[then(expr = "the answer's liquidity error is {word}")]
fn liquidity_error_is(w: &mut PeeringWorld, error: String) {
    match w.last_dialect() {
        Dialect::Seed => {
            let answer = w.answer();
            assert_eq!(answer["error"], json!(error), "error in {answer}");
            assert_eq!(answer["success"], json!(false), "success in {answer}");
        }
        Dialect::V2 => {
            let response = w.response();
            let field = response["errors"][0]["path"][0]
                .as_str()
                .unwrap_or_else(|| panic!("an error at a mutation's path in {response}"));
            assert!(
                is_nullable_mutation(field),
                "{field} is a liquidity mutation"
            );
            assert_eq!(response["data"], json!({ field: null }), "{response}");
        }
    }
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

#[then(expr = "the error's code is {word}")]
fn error_code(w: &mut PeeringWorld, code: String) {
    let response = w.last_response.clone().expect("an answer");
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        json!(code),
        "{response}"
    );
}

#[then(expr = "the admin API answers HTTP {int}")]
fn http_status(w: &mut PeeringWorld, status: u16) {
    assert_eq!(w.last_status, Some(status), "answer: {:?}", w.last_response);
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
