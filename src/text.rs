//! Free text that users type into names and codes, and the characters it may not contain; and
//! timestamps as Rafiki writes them.
//!
//! Control characters break logs and terminals, and Unicode's invisible format characters let a
//! string display as something it is not: `"\u{202e}DSU"` (a right-to-left override) shows as
//! "USD". Names and codes are read by people deciding where money goes, so both are refused.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The first character of `text` that may not appear in a name or code: a control character
/// (`Cc`), an invisible format character (`Cf`: bidirectional overrides, isolates and marks,
/// zero-width joiners and spaces, the byte-order mark), a line or paragraph separator, a
/// private-use or an unassigned code point.
pub fn forbidden_character(text: &str) -> Option<char> {
    text.chars().find(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
                | GeneralCategory::Surrogate
        )
    })
}

/// `createdAt` as JavaScript's `toISOString()` writes it: `2024-01-02T03:04:05.678Z`.
pub fn iso_timestamp(at: std::time::SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::forbidden_character;

    #[test]
    fn ordinary_text_in_any_script_is_allowed() {
        for text in [
            "USD",
            "Cloud Nine Wallet",
            "Zürich Bank",
            "銀行",
            "بنك",
            "a-b_c.d~e",
        ] {
            assert_eq!(forbidden_character(text), None, "{text:?}");
        }
    }

    #[test]
    fn control_and_invisible_characters_are_refused() {
        for (text, bad) in [
            ("\u{202e}DSU", '\u{202e}'),
            ("US\u{200b}D", '\u{200b}'),
            ("USD\u{2066}", '\u{2066}'),
            ("\u{feff}USD", '\u{feff}'),
            ("U\u{200d}SD", '\u{200d}'),
            ("US\u{061c}D", '\u{061c}'),
            ("a\nb", '\n'),
            ("a\u{0}b", '\u{0}'),
            ("a\u{7f}b", '\u{7f}'),
            ("a\u{2028}b", '\u{2028}'),
            ("a\u{e000}b", '\u{e000}'),
        ] {
            assert_eq!(forbidden_character(text), Some(bad), "{text:?}");
        }
    }
}
