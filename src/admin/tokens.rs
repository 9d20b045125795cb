//! Counts a GraphQL document's tokens without parsing it, so that an oversized document is refused
//! in microseconds: async-graphql's parser takes about 130 ms (release build) for 230 KB.
//!
//! Tokens are counted as graphql-js's lexer makes them (its `maxTokens` parse option): names,
//! numbers, strings and block strings, punctuators (`...` is one); whitespace, commas and comments
//! are not tokens. A character no token starts with counts as one; the parser refuses it later.

/// Whether `document` holds more than `limit` tokens. Stops counting at the first one over.
pub fn exceeds(document: &str, limit: usize) -> bool {
    let bytes = document.as_bytes();
    let mut at = 0;
    let mut count = 0usize;
    while at < bytes.len() {
        let byte = bytes[at];
        at = match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => at + 1,
            b'#' => skip_until(bytes, at, |b| b == b'\n' || b == b'\r'),
            _ => {
                count += 1;
                if count > limit {
                    return true;
                }
                token_end(bytes, at)
            }
        };
    }
    false
}

/// Where the token starting at `start` ends.
fn token_end(bytes: &[u8], start: usize) -> usize {
    let rest = &bytes[start..];
    match bytes[start] {
        b'"' if rest.starts_with(b"\"\"\"") => block_string_end(bytes, start + 3),
        b'"' => string_end(bytes, start + 1),
        b'.' if rest.starts_with(b"...") => start + 3,
        b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
            skip_until(bytes, start, |b| !(b == b'_' || b.is_ascii_alphanumeric()))
        }
        // Digits, signs, dots and exponents of a number, in any order: a malformed number is
        // still one token to count, and the parser refuses it.
        b'-' | b'0'..=b'9' => skip_until(bytes, start + 1, |b| {
            !(b.is_ascii_alphanumeric() || b == b'.' || b == b'+' || b == b'-')
        }),
        // A punctuator, or a character no token starts with (a multi-byte one as a whole).
        _ => start + char_length(bytes[start]),
    }
}

/// The first index from `from` whose byte satisfies `stop` (or the end).
fn skip_until(bytes: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| stop(*b))
        .map_or(bytes.len(), |offset| from + offset)
}

/// The end of a `"…"` string whose content starts at `from`: after its closing quote, at the end
/// of its line when unterminated (where graphql-js stops too), or at the end of the document.
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The end of a `"""…"""` block string whose content starts at `from`; `\"""` does not close it.
fn block_string_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < bytes.len() {
        if bytes[at..].starts_with(b"\\\"\"\"") {
            at += 4;
        } else if bytes[at..].starts_with(b"\"\"\"") {
            return at + 3;
        } else {
            at += 1;
        }
    }
    bytes.len()
}

/// The length of the UTF-8 character that starts with `first`.
fn char_length(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact token count, found as the smallest limit not exceeded.
    fn count(document: &str) -> usize {
        (0..=document.len())
            .find(|limit| !exceeds(document, *limit))
            .unwrap()
    }

    #[test]
    fn counts_tokens_as_graphql_js_does() {
        assert_eq!(count(""), 0);
        assert_eq!(count("{ a }"), 3);
        // Commas are ignored; a signed float with an exponent is one token.
        assert_eq!(count("{ x: peers(first: 100, last: -2.5e3) { id } }"), 16);
        assert_eq!(count("query Q($n: Int = 3) { ...F }"), 14);
        assert_eq!(count("# a comment { { {\n{ a }"), 3);
        assert_eq!(count(r#"{ a(s: "x } \" { y") }"#), 8);
        assert_eq!(count("{ a(s: \"\"\"x \\\"\"\" }\n{ \"\"\") }"), 8);
        assert_eq!(count("{ é }"), 3);
    }

    #[test]
    fn stops_at_the_first_token_over() {
        let huge = "{ a }".repeat(1_000);
        assert!(exceeds(&huge, 10));
        assert!(exceeds(&huge, 2_999));
        assert!(!exceeds(&huge, 3_000));
    }
}
