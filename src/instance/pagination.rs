//! Relay-style pages over entities kept in creation order, with Rafiki's rules
//! (`src/shared/baseModel.ts` `getPage`): cursors are entity ids, `first`/`last` default to 20 and
//! may not exceed 100, and the default order is newest first.

use thiserror::Error;

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when none (or 0) is asked for.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    /// Newest first: Rafiki's default.
    #[default]
    Desc,
}

/// What a client asked for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
    pub order: SortOrder,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaginationError {
    #[error("Pagination index error")]
    IndexOutOfRange,
    #[error("Can't paginate backwards from the start.")]
    BackwardsFromStart,
    #[error("Unknown cursor: {0}")]
    UnknownCursor(String),
}

/// Cuts one page out of `oldest_first`, which must be in creation order.
pub fn paginate<T: Clone>(
    oldest_first: &[T],
    id_of: impl Fn(&T) -> String,
    request: &PageRequest,
) -> Result<Page<T>, PaginationError> {
    if request.last.is_some() && request.before.is_none() {
        return Err(PaginationError::BackwardsFromStart);
    }
    let ordered: Vec<&T> = match request.order {
        SortOrder::Asc => oldest_first.iter().collect(),
        SortOrder::Desc => oldest_first.iter().rev().collect(),
    };
    let position = |cursor: &str| {
        ordered
            .iter()
            .position(|item| id_of(item) == cursor)
            .ok_or_else(|| PaginationError::UnknownCursor(cursor.chars().take(64).collect()))
    };
    let size = |asked: Option<i32>| match asked.unwrap_or(0) {
        0 => Ok(DEFAULT_PAGE_SIZE as usize),
        n if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n as usize),
        _ => Err(PaginationError::IndexOutOfRange),
    };
    let (start, end) = if let Some(before) = &request.before {
        let end = position(before)?;
        let count = size(request.last)?;
        (end.saturating_sub(count), end)
    } else {
        let start = match &request.after {
            Some(after) => position(after)? + 1,
            None => 0,
        };
        let count = size(request.first)?;
        (start, (start + count).min(ordered.len()))
    };
    Ok(Page {
        items: ordered[start..end]
            .iter()
            .map(|item| (*item).clone())
            .collect(),
        has_next_page: end < ordered.len() && start < end,
        has_previous_page: start > 0 && start < end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: u32) -> Vec<u32> {
        (1..=n).collect()
    }

    fn page(all: &[u32], request: PageRequest) -> Result<Page<u32>, PaginationError> {
        paginate(all, |n| n.to_string(), &request)
    }

    #[test]
    fn defaults_to_twenty_newest_first() {
        let all = items(25);
        let p = page(&all, PageRequest::default()).unwrap();
        assert_eq!(p.items, (6..=25).rev().collect::<Vec<_>>());
        assert!(p.has_next_page);
        assert!(!p.has_previous_page);
        let zero = page(
            &all,
            PageRequest {
                first: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(zero.items.len(), 20);
    }

    #[test]
    fn walks_forwards_and_backwards_with_cursors() {
        let all = items(10);
        let asc = |after: Option<&str>, before: Option<&str>, first, last| PageRequest {
            after: after.map(str::to_owned),
            before: before.map(str::to_owned),
            first,
            last,
            order: SortOrder::Asc,
        };
        let p = page(&all, asc(Some("3"), None, Some(4), None)).unwrap();
        assert_eq!(p.items, vec![4, 5, 6, 7]);
        assert!(p.has_next_page && p.has_previous_page);
        let p = page(&all, asc(None, Some("4"), None, Some(2))).unwrap();
        assert_eq!(p.items, vec![2, 3]);
        assert!(p.has_next_page && p.has_previous_page);
        let p = page(&all, asc(Some("8"), None, Some(5), None)).unwrap();
        assert_eq!(p.items, vec![9, 10]);
        assert!(!p.has_next_page);
        let p = page(&all, asc(Some("10"), None, None, None)).unwrap();
        assert!(p.items.is_empty());
        assert!(!p.has_next_page && !p.has_previous_page);
    }

    #[test]
    fn refuses_what_rafiki_refuses() {
        let all = items(3);
        let request = |first, last, before: Option<&str>| PageRequest {
            first,
            last,
            before: before.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(
            page(&all, request(Some(101), None, None)),
            Err(PaginationError::IndexOutOfRange)
        );
        assert_eq!(
            page(&all, request(Some(-1), None, None)),
            Err(PaginationError::IndexOutOfRange)
        );
        assert_eq!(
            page(&all, request(None, Some(2), None)),
            Err(PaginationError::BackwardsFromStart)
        );
        assert_eq!(
            page(&all, request(None, Some(2), Some("nope"))),
            Err(PaginationError::UnknownCursor("nope".into()))
        );
    }
}
