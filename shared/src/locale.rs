//! Locales compare case-insensitively, as BCP 47 says (`pt-br` = `pt-BR`).
//!
//! Every locale is brought to its canonical case before it is compared, looked up or sent:
//! the language in lower case, a four-letter script in title case, a region in upper case,
//! anything else in lower case (`EN-gb` → `en-GB`, `zh-hant-tw` → `zh-Hant-TW`). `_` is read
//! as `-`.

/// `locale` in BCP 47's canonical case, trimmed. Text that is not a language tag (anything
/// but ASCII letters, digits, `-` and `_`) is returned trimmed, case kept.
pub fn canonical(locale: &str) -> String {
    let locale = locale.trim();
    if !locale
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return locale.to_owned();
    }
    let mut out = String::with_capacity(locale.len());
    for (index, subtag) in locale.split(['-', '_']).enumerate() {
        if index > 0 {
            out.push('-');
        }
        let is_script =
            index > 0 && subtag.len() == 4 && subtag.bytes().all(|b| b.is_ascii_alphabetic());
        let is_region = index > 0
            && ((subtag.len() == 2 && subtag.bytes().all(|b| b.is_ascii_alphabetic()))
                || (subtag.len() == 3 && subtag.bytes().all(|b| b.is_ascii_digit())));
        if is_script {
            let mut chars = subtag.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
            }
            out.push_str(&chars.as_str().to_ascii_lowercase());
        } else if is_region {
            out.push_str(&subtag.to_ascii_uppercase());
        } else {
            out.push_str(&subtag.to_ascii_lowercase());
        }
    }
    out
}

/// Whether two locales are the same, case aside.
pub fn same(one: &str, other: &str) -> bool {
    canonical(one) == canonical(other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_is_canonical() {
        for (given, expected) in [
            ("pt-br", "pt-BR"),
            ("pt-BR", "pt-BR"),
            ("EN-gb", "en-GB"),
            ("en_gb", "en-GB"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("de", "de"),
            (" fr-ca ", "fr-CA"),
            ("sl-rozaj-biske", "sl-rozaj-biske"),
        ] {
            assert_eq!(canonical(given), expected, "{given}");
        }
        assert_eq!(canonical("fr FR"), "fr FR", "not a tag: kept");
        assert!(same("pt-br", "PT-BR"));
        assert!(!same("pt-br", "pt-pt"));
    }
}
