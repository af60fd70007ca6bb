//! Gmail search queries built from the directory, for the investor-first
//! backfill (issue 7): every contact address and investor domain as
//! `from:`/`to:`/`cc:`/`bcc:` terms, OR-ed inside `{ }` and split so each
//! query stays under Gmail's length limit. Search is only a hint about what
//! to fetch first; the [`Matcher`](super::Matcher) still decides every link.

use std::collections::BTreeSet;

use super::domains::{is_public_domain, normalize_address, normalize_domain, suffixes};
use crate::store::Directory;

/// Query length that leaves Gmail's practical limit comfortable room for a
/// date filter the caller appends (`after:2025/01/01`).
pub const DEFAULT_QUERY_MAX: usize = 1500;

/// The search items of `dir`, sorted and deduplicated: contact addresses
/// (public domains included: an exact contact matches there) and investor
/// domains (public ones never). Items in our own domains or on the
/// exclusion list are left out: they never match, so nothing should be
/// fetched in full for them. Diff two versions' items to list only what a
/// directory change added.
pub fn search_items(dir: &Directory, our_domains: &[String]) -> Vec<String> {
    let ours: Vec<String> = our_domains
        .iter()
        .filter_map(|d| normalize_domain(d))
        .collect();
    let (mut ex_addr, mut ex_dom) = (BTreeSet::new(), BTreeSet::new());
    for e in &dir.exclusions {
        if e.contains('@') {
            ex_addr.extend(normalize_address(e));
        } else {
            ex_dom.extend(normalize_domain(e));
        }
    }
    let blocked =
        |domain: &str| suffixes(domain).any(|s| ours.iter().any(|o| o == s) || ex_dom.contains(s));
    let mut items = BTreeSet::new();
    for c in &dir.contacts {
        if let Some(a) = normalize_address(&c.email) {
            let domain = a.rsplit_once('@').map_or("", |(_, d)| d);
            if !ex_addr.contains(&a) && !blocked(domain) {
                items.insert(a);
            }
        }
    }
    for d in dir.investors.iter().flat_map(|i| &i.domains) {
        if let Some(d) = normalize_domain(d) {
            if !is_public_domain(&d) && !blocked(&d) {
                items.insert(d);
            }
        }
    }
    items.into_iter().collect()
}

/// Groups `items` into queries `{from:x to:x cc:x bcc:x from:y …}`, each at
/// most `max_len` characters, every item in exactly one query, in order. An
/// item too long to fit even alone is left out (the ordinary backfill still
/// finds its mail).
pub fn build_queries(items: &[String], max_len: usize) -> Vec<String> {
    let mut queries = Vec::new();
    let mut current = String::new();
    for item in items {
        let value = quote(item);
        let group = format!("from:{value} to:{value} cc:{value} bcc:{value}");
        if group.len() + 2 > max_len {
            continue;
        }
        // `{` + current + ` ` + group + `}`
        if !current.is_empty() && current.len() + 1 + group.len() + 2 > max_len {
            queries.push(format!("{{{current}}}"));
            current.clear();
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&group);
    }
    if !current.is_empty() {
        queries.push(format!("{{{current}}}"));
    }
    queries
}

/// [`search_items`] grouped by [`build_queries`]: the `q` values to list.
pub fn search_terms(dir: &Directory, our_domains: &[String], max_len: usize) -> Vec<String> {
    build_queries(&search_items(dir, our_domains), max_len)
}

/// Addresses with characters Gmail's query syntax reads as operators are
/// quoted (quotes and backslashes dropped, as they cannot be escaped).
fn quote(item: &str) -> String {
    let plain = item
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".@+_-".contains(c));
    if plain {
        item.to_string()
    } else {
        let inner: String = item.chars().filter(|c| !matches!(c, '"' | '\\')).collect();
        format!("\"{inner}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_too_long_for_any_query_is_left_out() {
        let items = vec!["a@b.co".to_string(), format!("{}@b.co", "x".repeat(100))];
        let q = build_queries(&items, 60);
        assert_eq!(q, ["{from:a@b.co to:a@b.co cc:a@b.co bcc:a@b.co}"]);
    }

    #[test]
    fn operator_characters_are_quoted() {
        assert_eq!(quote("o'neil{x}@acme.com"), "\"o'neil{x}@acme.com\"");
        assert_eq!(quote("a.b+c@acme.com"), "a.b+c@acme.com");
    }
}
