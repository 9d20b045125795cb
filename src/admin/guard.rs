//! What one GraphQL request may ask for, measured before it is validated or run: the size of its
//! document (in tokens, before parsing it), then on the parsed document the depth of its
//! selections, their cost, and its aliases.
//!
//! Rafiki's admin server (ApolloArmor) limits depth to 10 and cost to 5000 and skips introspection,
//! so that GraphiQL, codegen and graphql-js's `getIntrospectionQuery()` can load the schema. Here:
//! - depth and cost count every selection except the introspection fields (`__schema`, `__type`,
//!   `__typename`) and what lies under them;
//! - a field's cost is 1 plus its selection's cost times the number of items it asks for: its
//!   `first`, `last` or `limit` argument (a literal or a variable), else 20 for a page (a field
//!   that selects `edges` or `nodes`, Rafiki's default page size), else 1;
//! - aliases are counted everywhere, introspection included, and through fragments;
//! - introspection may nest its list fields (`fields`, `interfaces`, `possibleTypes`,
//!   `inputFields`) at most twice, as graphql-js's `MaxIntrospectionDepthRule` allows: deeper, the
//!   answer grows as the schema's size to that power;
//! - selections, inline fragments and fragment spreads nest at most 32 levels (async-graphql's own
//!   recursion limit), which also bounds this module's recursion and cuts fragment cycles.
//!
//! Fragments are measured once each and reused, so a fragment spread many times costs its uses,
//! not a walk per use.

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value as ConstValue};
use thiserror::Error;

use super::tokens;

/// Most tokens a document may hold, counted before parsing (graphql-js's `maxTokens`; GraphQL
/// Armor's default is 1000). graphql-js's introspection query, every option on, holds 184.
pub const MAX_TOKENS: usize = 2_000;
/// Deepest selection a request may make (Rafiki's ApolloArmor uses 10).
pub const MAX_DEPTH: usize = 10;
/// Largest cost a request may have (Rafiki's ApolloArmor uses 5000).
pub const MAX_COMPLEXITY: u64 = 5_000;
/// Most aliases a request may use: enough for any real client, too few to multiply an answer.
pub const MAX_ALIASES: u64 = 30;
/// Items a page holds when neither `first` nor `last` says (Rafiki's `first || 20`).
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Most levels selections and fragments may nest (async-graphql's default recursion limit).
pub const MAX_NESTING: usize = 32;
/// graphql-js's `MaxIntrospectionDepthRule`: this many nested introspection lists is refused.
const MAX_INTROSPECTION_LISTS: u32 = 3;

/// The arguments that say how many items a field returns.
const PAGE_SIZE_ARGUMENTS: [&str; 3] = ["first", "last", "limit"];
/// Introspection's list fields whose nesting multiplies the answer by the schema's size.
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];

/// Why a request was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GuardError {
    #[error("Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted.")]
    TooManyTokens,
    #[error("Query is nested too deep: depth {found}, at most {MAX_DEPTH}.")]
    TooDeep { found: usize },
    #[error(
        "Query is too complex: cost {found}, at most {MAX_COMPLEXITY} (a field's selection counts once per item its first, last or limit asks for, {DEFAULT_PAGE_SIZE} for a page by default)."
    )]
    TooComplex { found: u64 },
    #[error("Too many aliases: {found}, at most {MAX_ALIASES}.")]
    TooManyAliases { found: u64 },
    #[error("Maximum introspection depth exceeded")]
    IntrospectionTooDeep,
    #[error(
        "Query is nested too deep: selections and fragments nest more than {MAX_NESTING} levels."
    )]
    NestingTooDeep,
}

/// What a request's operation asks for, as the limits count it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub depth: usize,
    pub complexity: u64,
    pub aliases: u64,
}

/// Admits `query` or says why not: its tokens are counted, then it is parsed and measured by
/// [`check`]. The parsed document is handed back for the executor to reuse; `None` when it does
/// not parse, which the executor reports as the syntax error it is.
pub fn admit(
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<Option<ExecutableDocument>, GuardError> {
    if tokens::exceeds(query, MAX_TOKENS) {
        return Err(GuardError::TooManyTokens);
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Ok(None);
    };
    check(&document, operation_name, variables)?;
    Ok(Some(document))
}

/// How many parsed documents [`DocumentCache`] keeps, and the largest it keeps.
const CACHED_DOCUMENTS: usize = 256;
const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;

/// Parsed documents by their text. Clients send the same few operations again and again with new
/// variables, and parsing is most of what admitting one costs; the measuring still runs on every
/// request, since page sizes may come from variables. Bounded: when full, it starts over.
#[derive(Debug, Default)]
pub struct DocumentCache {
    documents: std::sync::Mutex<HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    /// [`admit`], parsing `query` only the first time it is seen.
    pub fn admit(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<Option<ExecutableDocument>, GuardError> {
        let cached = self
            .documents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(query)
            .cloned();
        let document = match cached {
            Some(document) => document,
            None => {
                let Some(document) = admit(query, operation_name, variables)? else {
                    return Ok(None);
                };
                if query.len() <= MAX_CACHED_QUERY_BYTES {
                    let mut documents = self
                        .documents
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if documents.len() >= CACHED_DOCUMENTS {
                        documents.clear();
                    }
                    documents.insert(query.to_owned(), document.clone());
                }
                return Ok(Some(document));
            }
        };
        check(&document, operation_name, variables)?;
        Ok(Some(document))
    }
}

/// Measures the operation `doc` will run (the one `operation_name` names, or its only one) and
/// refuses it over the limits. A document whose operation cannot be chosen is let through: the
/// executor refuses it without running anything.
pub fn check(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<Cost, GuardError> {
    let Some(operation) = chosen_operation(doc, operation_name) else {
        return Ok(Cost::default());
    };
    let mut walker = Walker {
        doc,
        variables,
        operation,
        fragments: HashMap::new(),
    };
    let summary = walker.selection_set(&operation.selection_set.node, 0)?;
    let cost = Cost {
        depth: summary.depth,
        complexity: summary.complexity,
        aliases: summary.aliases,
    };
    if cost.aliases > MAX_ALIASES {
        return Err(GuardError::TooManyAliases {
            found: cost.aliases,
        });
    }
    if cost.depth > MAX_DEPTH {
        return Err(GuardError::TooDeep { found: cost.depth });
    }
    if cost.complexity > MAX_COMPLEXITY {
        return Err(GuardError::TooComplex {
            found: cost.complexity,
        });
    }
    Ok(cost)
}

fn chosen_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, operation_name) {
        // With a name that does not match, the executor refuses it; measuring it anyway is safe.
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// One selection set measured, independently of where it is used.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    /// Deepest field nesting outside introspection.
    depth: usize,
    complexity: u64,
    aliases: u64,
    /// Levels of selection sets, inline fragments and spreads below this one.
    nesting: usize,
    /// Most introspection list fields on one path.
    introspection_lists: u32,
}

impl Summary {
    /// Combines siblings: counts add, heights take the larger.
    fn merge(&mut self, other: Summary) {
        self.depth = self.depth.max(other.depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.nesting = self.nesting.max(other.nesting);
        self.introspection_lists = self.introspection_lists.max(other.introspection_lists);
    }

    /// This selection set seen from one level up (a spread or an inline fragment).
    fn nested(mut self) -> Summary {
        self.nesting = self.nesting.saturating_add(1);
        self
    }
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    operation: &'a OperationDefinition,
    fragments: HashMap<&'a Name, Summary>,
}

impl<'a> Walker<'a> {
    /// Measures `set`, which sits `level` selection sets below the operation.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        level: usize,
    ) -> Result<Summary, GuardError> {
        if level > MAX_NESTING {
            return Err(GuardError::NestingTooDeep);
        }
        let mut summary = Summary::default();
        for item in &set.items {
            let measured = match &item.node {
                Selection::Field(field) => self.field(&field.node, level)?,
                Selection::InlineFragment(inline) => self
                    .selection_set(&inline.node.selection_set.node, level + 1)?
                    .nested(),
                Selection::FragmentSpread(spread) => {
                    self.fragment(&spread.node.fragment_name.node, level + 1)?
                }
            };
            summary.merge(measured);
        }
        Ok(summary)
    }

    /// Measures a named fragment once; a spread of it at `level` reuses that measure.
    fn fragment(&mut self, name: &'a Name, level: usize) -> Result<Summary, GuardError> {
        let body = match self.fragments.get(name) {
            Some(known) => *known,
            None => {
                // An unknown fragment is refused by validation; it asks for nothing here.
                let Some(definition) = self.doc.fragments.get(name) else {
                    return Ok(Summary::default());
                };
                let body = self.selection_set(&definition.node.selection_set.node, level)?;
                self.fragments.insert(name, body);
                body
            }
        };
        if level.saturating_add(body.nesting) > MAX_NESTING {
            return Err(GuardError::NestingTooDeep);
        }
        Ok(body.nested())
    }

    fn field(&mut self, field: &'a Field, level: usize) -> Result<Summary, GuardError> {
        let children = &field.selection_set.node;
        let below = if children.items.is_empty() {
            Summary::default()
        } else {
            self.selection_set(children, level + 1)?.nested()
        };
        let name = field.name.node.as_str();
        let aliases = below
            .aliases
            .saturating_add(u64::from(field.alias.is_some()));
        let lists = below
            .introspection_lists
            .saturating_add(u32::from(INTROSPECTION_LISTS.contains(&name)));
        if name == "__schema" || name == "__type" {
            if below.introspection_lists >= MAX_INTROSPECTION_LISTS {
                return Err(GuardError::IntrospectionTooDeep);
            }
            return Ok(Summary {
                aliases,
                nesting: below.nesting,
                ..Summary::default()
            });
        }
        if name == "__typename" {
            return Ok(Summary {
                aliases,
                ..Summary::default()
            });
        }
        let items = self.items_asked(field);
        Ok(Summary {
            depth: below.depth.saturating_add(1),
            complexity: below.complexity.saturating_mul(items).saturating_add(1),
            aliases,
            nesting: below.nesting,
            introspection_lists: lists,
        })
    }

    /// How many items `field` returns: its `first`, `last` or `limit` (the largest given), else
    /// a default page for a connection, else one. A value that is not a positive integer is
    /// refused by the resolver or read as absent (Rafiki reads `first: 0` as the default page).
    fn items_asked(&self, field: &Field) -> u64 {
        let asked = PAGE_SIZE_ARGUMENTS
            .iter()
            .filter_map(|argument| field.get_argument(argument))
            .filter_map(|value| {
                value
                    .node
                    .clone()
                    .into_const_with(|name| self.variable(&name).ok_or(()))
                    .ok()
            })
            .filter_map(|value| match value {
                ConstValue::Number(number) => number.as_u64().filter(|n| *n > 0),
                _ => None,
            })
            .max();
        if let Some(asked) = asked {
            return asked;
        }
        let is_page = field.selection_set.node.items.iter().any(|item| {
            matches!(&item.node, Selection::Field(child)
                if matches!(child.node.name.node.as_str(), "edges" | "nodes"))
        });
        if is_page { DEFAULT_PAGE_SIZE } else { 1 }
    }

    /// A variable's value as sent, else its default in the operation.
    fn variable(&self, name: &Name) -> Option<ConstValue> {
        if let Some(value) = self.variables.get(name) {
            return Some(value.clone());
        }
        self.operation
            .variable_definitions
            .iter()
            .find(|definition| definition.node.name.node == *name)
            .and_then(|definition| definition.node.default_value.as_ref())
            .map(|default| default.node.clone())
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use serde_json::json;

    use super::*;

    fn measure(query: &str) -> Result<Cost, GuardError> {
        measure_with(query, None, json!({}))
    }

    fn measure_with(
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
    ) -> Result<Cost, GuardError> {
        let doc = parse_query(query).unwrap();
        check(&doc, operation_name, &Variables::from_json(variables))
    }

    const PEERS: &str = "edges { node { id name staticIlpAddress asset { code } } }";

    #[test]
    fn a_page_multiplies_its_selection() {
        // peers 1 + items x (edges 1 + node 1 + id, name, address 3 + asset 1 + code 1)
        let cost = measure(&format!("{{ peers(first: 100) {{ {PEERS} }} }}")).unwrap();
        assert_eq!(cost.complexity, 1 + 100 * 7);
        assert_eq!(cost.depth, 5);
        let default_page = measure(&format!("{{ peers {{ {PEERS} }} }}")).unwrap();
        assert_eq!(default_page.complexity, 1 + 20 * 7);
        let from_variable = measure_with(
            &format!("query($n: Int) {{ peers(last: $n) {{ {PEERS} }} }}"),
            None,
            json!({ "n": 50 }),
        )
        .unwrap();
        assert_eq!(from_variable.complexity, 1 + 50 * 7);
        let from_default = measure(&format!(
            "query($n: Int = 30) {{ peers(first: $n) {{ {PEERS} }} }}"
        ))
        .unwrap();
        assert_eq!(from_default.complexity, 1 + 30 * 7);
    }

    #[test]
    fn over_the_cost_is_refused() {
        let aliased = |first: u32| {
            let fields: String = (0..8)
                .map(|i| format!("p{i}: peers(first: {first}) {{ {PEERS} }} "))
                .collect();
            measure(&format!("{{ {fields} }}"))
        };
        assert_eq!(aliased(100), Err(GuardError::TooComplex { found: 8 * 701 }));
        assert_eq!(aliased(10).unwrap().complexity, 8 * 71);
    }

    #[test]
    fn introspection_is_free_but_its_lists_are_bounded() {
        let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }";
        assert_eq!(measure(deep).unwrap().depth, 0);
        let typename = "{ peers { __typename edges { __typename node { id } } } }";
        assert_eq!(measure(typename).unwrap().depth, 4);
        let lists = "{ __type(name: \"Peer\") { fields { type { fields { type { fields { name } } } } } } }";
        assert_eq!(measure(lists), Err(GuardError::IntrospectionTooDeep));
        let via_fragment = "{ __schema { types { ...F } } } fragment F on __Type { fields { type { fields { type { fields { name } } } } } }";
        assert_eq!(measure(via_fragment), Err(GuardError::IntrospectionTooDeep));
    }

    #[test]
    fn depth_counts_through_fragments() {
        let nested = |levels: usize| {
            let open: String = (0..levels).map(|i| format!("f{i} {{ ")).collect();
            format!("{{ {open} x {} }}", "} ".repeat(levels))
        };
        assert_eq!(measure(&nested(9)).unwrap().depth, 10);
        assert_eq!(measure(&nested(10)), Err(GuardError::TooDeep { found: 11 }));
        let spread = "{ a { ...F } } fragment F on A { b { c { d { e { f { g { h { i { j { k } } } } } } } } } }";
        assert_eq!(measure(spread), Err(GuardError::TooDeep { found: 11 }));
    }

    #[test]
    fn aliases_count_everywhere_and_through_fragments() {
        let inside_introspection: String = (0..31)
            .map(|i| format!("t{i}: types {{ name }} "))
            .collect();
        assert_eq!(
            measure(&format!("{{ __schema {{ {inside_introspection} }} }}")),
            Err(GuardError::TooManyAliases { found: 31 })
        );
        let spread_twice = format!(
            "{{ a: assets {{ ...F }} b: assets {{ ...F }} }} fragment F on AssetsConnection {{ {} }}",
            (0..15)
                .map(|i| format!("e{i}: edges {{ cursor }} "))
                .collect::<String>()
        );
        assert_eq!(
            measure(&spread_twice),
            Err(GuardError::TooManyAliases { found: 32 })
        );
    }

    #[test]
    fn fragments_are_measured_once_and_cycles_end() {
        // Each fragment spreads the next one twice: walked per use, this would be 2^25 visits.
        let mut query = String::from("{ ...F0 }");
        for i in 0..25 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        query.push_str(" fragment F25 on Query { __typename }");
        assert_eq!(measure(&query).unwrap().complexity, 0);
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert_eq!(measure(cycle), Err(GuardError::NestingTooDeep));
    }

    #[test]
    fn documents_over_the_token_limit_are_not_parsed() {
        let empty = Variables::default();
        let fields = "a ".repeat(MAX_TOKENS - 2);
        assert!(admit(&format!("{{ {fields} }}"), None, &empty).is_ok());
        assert_eq!(
            admit(&format!("{{ {fields} b }}"), None, &empty).err(),
            Some(GuardError::TooManyTokens)
        );
        // A syntax error is left to the executor.
        assert!(matches!(admit("{ a", None, &empty), Ok(None)));
    }

    #[test]
    fn a_cached_document_is_measured_again_with_each_requests_variables() {
        let cache = DocumentCache::default();
        let query = "query($n: Int) { peers(first: $n) { edges { node { id } } } }";
        let variables = |n: i32| Variables::from_json(serde_json::json!({ "n": n }));
        assert!(matches!(
            cache.admit(query, None, &variables(10)),
            Ok(Some(_))
        ));
        assert!(matches!(
            cache.admit(query, None, &variables(10)),
            Ok(Some(_))
        ));
        assert!(matches!(
            cache.admit(query, None, &variables(1_000_000)),
            Err(GuardError::TooComplex { .. })
        ));
        assert!(matches!(cache.admit("{ a", None, &variables(1)), Ok(None)));
    }

    #[test]
    fn the_named_operation_is_measured() {
        let document = "query Small { assets(first: 1) { edges { cursor } } } query Big { a { b { c { d { e { f { g { h { i { j { k } } } } } } } } } } }";
        assert!(measure_with(document, Some("Small"), json!({})).is_ok());
        assert_eq!(
            measure_with(document, Some("Big"), json!({})),
            Err(GuardError::TooDeep { found: 11 })
        );
        // Without a name the executor refuses the document; nothing runs.
        assert_eq!(measure(document), Ok(Cost::default()));
    }
}
