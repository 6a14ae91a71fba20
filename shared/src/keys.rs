//! Storage keys built from identifiers, unambiguous whatever the identifiers hold.
//!
//! Components are joined with `#`; inside a component `%` is written `%25` and `#` is written
//! `%23`, so a `#` in a key is always a separator and two different tuples never share a key
//! (`WEEK#1` + `A` is `WEEK%231#A`, `WEEK` + `1#A` is `WEEK#1%23A`). Every other character,
//! `/`, `?`, spaces and non-ASCII text included, is kept as it is, so keys of ordinary ids are
//! what they were before the escaping.

use std::borrow::Cow;

/// The separator between components.
pub const SEPARATOR: char = '#';

/// One component, escaped: `%` → `%25`, `#` → `%23`; borrowed when there is nothing to escape.
pub fn escape(component: &str) -> Cow<'_, str> {
    if !component.contains(['%', SEPARATOR]) {
        return Cow::Borrowed(component);
    }
    let mut escaped = String::with_capacity(component.len() + 8);
    for character in component.chars() {
        match character {
            '%' => escaped.push_str("%25"),
            SEPARATOR => escaped.push_str("%23"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// The components, each escaped, joined with `#`.
pub fn join(components: &[&str]) -> String {
    let mut key = String::with_capacity(components.iter().map(|c| c.len() + 1).sum());
    for (index, component) in components.iter().enumerate() {
        if index > 0 {
            key.push(SEPARATOR);
        }
        key.push_str(&escape(component));
    }
    key
}

/// The components of a key [`join`] built, unescaped; `None` when `key` is not such a key (a
/// `%` not followed by `25` or `23`).
pub fn split(key: &str) -> Option<Vec<String>> {
    key.split(SEPARATOR).map(unescape).collect()
}

fn unescape(component: &str) -> Option<String> {
    let mut text = String::with_capacity(component.len());
    let mut rest = component;
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3)?;
        text.push(match escape {
            "%25" => '%',
            "%23" => SEPARATOR,
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    text.push_str(rest);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_keep_their_keys() {
        assert_eq!(join(&["skybet", "10048213"]), "skybet#10048213");
        assert_eq!(
            join(&["WEEKLY-SPINS", "2026-W47", "PROGRESS"]),
            "WEEKLY-SPINS#2026-W47#PROGRESS"
        );
        assert!(matches!(escape("a/b?c d é"), Cow::Borrowed("a/b?c d é")));
    }

    #[test]
    fn separators_and_escapes_inside_ids_cannot_split_them() {
        let one = join(&["WEEK#1", "A"]);
        let other = join(&["WEEK", "1#A"]);
        assert_eq!(one, "WEEK%231#A");
        assert_eq!(other, "WEEK#1%23A");
        assert_ne!(one, other);
        assert_ne!(join(&["%23", "x"]), join(&["#", "x"]));
        assert_eq!(join(&["100%", "#"]), "100%25#%23");
    }

    #[test]
    fn keys_split_back_into_their_components() {
        for parts in [
            vec!["WEEK#1", "A"],
            vec!["%", "%23", "#", ""],
            vec!["a/b", "c?d", "e f", "ü€😀"],
        ] {
            assert_eq!(
                split(&join(&parts)),
                Some(parts.iter().map(|p| p.to_string()).collect())
            );
        }
        assert_eq!(split("100%"), None);
        assert_eq!(split("a%2"), None);
        assert_eq!(split("a%41"), None);
    }
}
