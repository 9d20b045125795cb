//! A small YAML writer for the documents `peerlab export` makes: block maps and lists in the
//! order they were built, and every string written so that any YAML reader, 1.1 or 1.2, reads
//! it back as that string.
//!
//! Why not a serde YAML crate: the maintained serde_yaml forks (yaml_serde, serde_norway) quote
//! only what YAML 1.2 would misread, and leave `no`, `on`, `yes`, `y`, `1_000` or `10:30` plain.
//! kubectl reads manifests as YAML 1.1 (through go-yaml v2), where those are booleans and
//! numbers, so an instance named `no` or an environment value `on` would break the manifest.
//! Here a string is plain only when no reader can take it for anything else; otherwise it is
//! double-quoted, with every character a reader could fold or drop escaped.

use std::fmt::Write as _;

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Yaml>),
    /// Keys in the order they are written.
    Map(Vec<(String, Yaml)>),
}

impl From<&str> for Yaml {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

impl From<String> for Yaml {
    fn from(value: String) -> Self {
        Self::Str(value)
    }
}

impl From<&String> for Yaml {
    fn from(value: &String) -> Self {
        Self::Str(value.clone())
    }
}

impl From<i64> for Yaml {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<u16> for Yaml {
    fn from(value: u16) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<bool> for Yaml {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<Vec<Yaml>> for Yaml {
    fn from(items: Vec<Yaml>) -> Self {
        Self::List(items)
    }
}

/// A map from `(key, value)` pairs, in their order.
pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
    Yaml::Map(
        entries
            .into_iter()
            .map(|(key, value)| (key.into(), value))
            .collect(),
    )
}

/// A list of strings.
pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Yaml {
    Yaml::List(
        items
            .into_iter()
            .map(|item| Yaml::Str(item.as_ref().to_owned()))
            .collect(),
    )
}

/// One YAML document: `node` written as block collections, ending with a line break.
pub fn to_string(node: &Yaml) -> String {
    let mut out = String::new();
    match node {
        Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        Yaml::List(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            write_inline(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, level: usize) {
    out.extend(std::iter::repeat_n(' ', level));
}

fn write_map(out: &mut String, entries: &[(String, Yaml)], level: usize) {
    for (key, value) in entries {
        indent(out, level);
        write_scalar_string(out, key);
        out.push(':');
        write_value(out, value, level);
    }
}

fn write_list(out: &mut String, items: &[Yaml], level: usize) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            // A map in a list starts on the dash's line: `- name: a`, its other keys under it.
            Yaml::Map(entries) if !entries.is_empty() => {
                out.push(' ');
                let mut first = String::new();
                write_map(&mut first, entries, level + 2);
                out.push_str(first.trim_start());
            }
            other => write_value(out, other, level),
        }
    }
}

/// What follows `key:` or `-`: a nested collection on the next lines, or a scalar on this one.
fn write_value(out: &mut String, value: &Yaml, level: usize) {
    match value {
        Yaml::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(out, entries, level + 2);
        }
        Yaml::List(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, level + 2);
        }
        scalar => {
            out.push(' ');
            write_inline(out, scalar, level);
            out.push('\n');
        }
    }
}

/// A scalar or an empty collection, on the current line (a literal block continues below it).
fn write_inline(out: &mut String, value: &Yaml, level: usize) {
    match value {
        Yaml::Str(text) if literal_block_fits(text) => {
            // `|`: the text line by line, as a reader of the manifest sees the file it holds.
            out.push_str("|\n");
            for line in text.lines() {
                if !line.is_empty() {
                    indent(out, level + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
            // The caller adds the line break that ends the value; the block already has it.
            out.pop();
        }
        Yaml::Str(text) => write_scalar_string(out, text),
        Yaml::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Yaml::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Yaml::List(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

/// Whether `text` can be a literal block (`|`, one final line break kept): several lines ending
/// with exactly one line break, no line starting with a space (that would need an indentation
/// indicator), no trailing spaces (editors strip them), and nothing that needs escaping.
fn literal_block_fits(text: &str) -> bool {
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    !body.is_empty()
        && body.contains('\n')
        && !body.ends_with('\n')
        && body
            .split('\n')
            .all(|line| !line.starts_with([' ', '\t']) && !line.ends_with([' ', '\t']))
        && !body.chars().any(|c| c != '\n' && needs_escape(c))
}

fn write_scalar_string(out: &mut String, text: &str) {
    if plain_is_safe(text) {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters a YAML reader would not keep as they are inside double quotes: controls (a raw
/// line break or tab is folded), Unicode's line and paragraph separators and NEL (line breaks
/// to YAML), the byte-order mark, and the non-characters YAML does not allow in a stream.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Words YAML 1.1 reads as booleans or null (kubectl's reader), in any of their cases.
const YAML_11_WORDS: [&str; 12] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf",
];

/// Whether `text` can be written plain and read back as this string by YAML 1.1 and 1.2
/// readers alike: a letter or `/` (a path), then letters, digits and `_ . / -` (no `:`, `#`,
/// space, quote or other indicator), and not a word YAML 1.1 gives another type. Starting with a
/// letter or `/` rules out numbers, timestamps and `.inf` in both versions.
fn plain_is_safe(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !YAML_11_WORDS
            .iter()
            .any(|word| word.eq_ignore_ascii_case(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_collections_in_the_order_built() {
        let document = map([
            ("apiVersion", Yaml::from("apps/v1")),
            (
                "spec",
                map([
                    ("replicas", Yaml::from(1i64)),
                    ("args", strings(["node"])),
                    (
                        "ports",
                        Yaml::List(vec![
                            map([
                                ("name", Yaml::from("admin")),
                                ("containerPort", 3001u16.into()),
                            ]),
                            map([("name", Yaml::from("connector"))]),
                        ]),
                    ),
                    ("empty", Yaml::List(vec![])),
                    ("none", Yaml::Map(vec![])),
                    ("flag", true.into()),
                ]),
            ),
        ]);
        assert_eq!(
            to_string(&document),
            "apiVersion: apps/v1\n\
             spec:\n  \
               replicas: 1\n  \
               args:\n    \
                 - node\n  \
               ports:\n    \
                 - name: admin\n      \
                   containerPort: 3001\n    \
                 - name: connector\n  \
               empty: []\n  \
               none: {}\n  \
               flag: true\n"
        );
    }

    #[test]
    fn strings_any_reader_could_misread_are_quoted() {
        for plain in [
            "peerlab",
            "apps/v1",
            "test.cloud-nine-wallet",
            "API_SECRET",
            "a-b",
            "/etc/peerlab/topology.toml",
        ] {
            assert!(plain_is_safe(plain), "{plain}");
        }
        for quoted in [
            "no",
            "NO",
            "On",
            "y",
            "yes",
            "off",
            "true",
            "Null",
            "~",
            "",
            "3001",
            "1_000",
            "10:30",
            "0.0.0.0",
            "0x10",
            "-x",
            ".inf",
            "http://a:1/",
            "a b",
            "a#b",
            "peerlab:latest",
            "é",
            "'",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "{x",
            "[x",
            "|x",
            ">x",
            "?x",
        ] {
            assert!(!plain_is_safe(quoted), "{quoted:?}");
        }
        let document = map([("no", Yaml::from("on")), ("port", Yaml::from("3001"))]);
        assert_eq!(to_string(&document), "\"no\": \"on\"\nport: \"3001\"\n");
    }

    #[test]
    fn escapes_keep_every_character() {
        let text = "a\"b\\c\u{7}\u{85}\u{2028}\u{FEFF}\té\n";
        let mut out = String::new();
        write_scalar_string(&mut out, text);
        assert_eq!(out, "\"a\\\"b\\\\c\\u0007\\u0085\\u2028\\uFEFF\\té\\n\"");
    }

    #[test]
    fn a_file_held_in_a_value_is_a_literal_block_when_it_can_be() {
        let document = map([(
            "data",
            map([
                (
                    "topology.toml",
                    Yaml::from("# a\n\n[[instances]]\nname = \"x\"\n"),
                ),
                ("one-line", Yaml::from("one line\n")),
                ("indented", Yaml::from("  starts with spaces\nb\n")),
                ("no-final-break", Yaml::from("a\nb")),
            ]),
        )]);
        assert_eq!(
            to_string(&document),
            "data:\n  \
               topology.toml: |\n    \
                 # a\n\n    \
                 [[instances]]\n    \
                 name = \"x\"\n  \
               one-line: \"one line\\n\"\n  \
               indented: \"  starts with spaces\\nb\\n\"\n  \
               no-final-break: \"a\\nb\"\n"
        );
    }

    /// What is written reads back, with a YAML 1.2 reader, as what was built: for strings
    /// made of every troublesome piece.
    #[test]
    fn documents_read_back_as_built() {
        let pieces = [
            "no", "on", "3001", "-", ":", " ", "#", "\"", "'", "\\", "\n", "\t", "é", "\u{2028}",
            "\u{85}", "a", "{", "[", "*", "&", "!", "|", ">", "%", "@", "`", ",", "?", "~",
        ];
        let mut entries = Vec::new();
        for (i, a) in pieces.iter().enumerate() {
            for (j, b) in pieces.iter().enumerate() {
                for (k, c) in ["", "\n", "x\n"].iter().enumerate() {
                    // Keys are strings like any other, unique by the pieces' positions.
                    let key = format!("{a}{b}{i}.{j}.{k}");
                    entries.push((key, Yaml::from(format!("{a}{b}{c}"))));
                }
            }
        }
        entries.push((
            "block".to_owned(),
            Yaml::from("[[x]]\nname = \"a: b\"\n\n# end\n"),
        ));
        let document = map([
            ("entries", Yaml::Map(entries.clone())),
            (
                "list",
                Yaml::List(entries.iter().map(|(_, value)| value.clone()).collect()),
            ),
        ]);
        let text = to_string(&document);
        let read: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(read, to_value(&document), "{text}");
    }

    fn to_value(node: &Yaml) -> yaml_serde::Value {
        use yaml_serde::Value;
        match node {
            Yaml::Str(text) => Value::String(text.clone()),
            Yaml::Int(number) => Value::Number((*number).into()),
            Yaml::Bool(flag) => Value::Bool(*flag),
            Yaml::List(items) => Value::Sequence(items.iter().map(to_value).collect()),
            Yaml::Map(entries) => Value::Mapping(
                entries
                    .iter()
                    .map(|(key, value)| (Value::String(key.clone()), to_value(value)))
                    .collect(),
            ),
        }
    }
}
