//! Deterministic identifiers: the same input always yields the same id, so a retried or
//! duplicated record produces the same CloudEvent id and the same onsite `messageId`.

use sha1::{Digest, Sha1};
use uuid::{Builder, Uuid};

/// Namespace of every id this pipeline derives (a fixed, random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_3c2a_8b4e_4d71_9a0c_52e7_b1f4_0d93);

/// A UUID (version 5) derived from the given parts, joined with a separator that cannot occur
/// in them ambiguously (each part is length-prefixed).
///
/// The name hashed is `len:part` for each part in turn (`len` in decimal, counted in bytes),
/// the same id as `Uuid::new_v5(NAMESPACE, name)`: the parts are hashed as they are, without
/// joining them into one string first, and the id is written once, into the returned string.
pub fn derived_id(parts: &[&str]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE.as_bytes());
    for part in parts {
        let mut prefix = [0u8; LENGTH_PREFIX_BYTES];
        hasher.update(length_prefix(part.len(), &mut prefix));
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let uuid = Builder::from_sha1_bytes(bytes).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid.hyphenated().encode_lower(&mut text).to_owned()
}

/// Room for the longest length prefix: the 20 digits of `u64::MAX` and the `:`.
const LENGTH_PREFIX_BYTES: usize = 21;

/// `len` in decimal followed by `:`, written at the end of `buffer`.
fn length_prefix(mut len: usize, buffer: &mut [u8; LENGTH_PREFIX_BYTES]) -> &[u8] {
    let mut start = LENGTH_PREFIX_BYTES - 1;
    buffer[start] = b':';
    loop {
        start -= 1;
        // `len % 10` is a single digit, so the cast cannot truncate.
        buffer[start] = b'0' + (len % 10) as u8;
        len /= 10;
        if len == 0 {
            return &buffer[start..];
        }
    }
}

/// A fresh random id, for correlation ids of chains that arrive without one.
pub fn random_id() -> String {
    Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_parts_same_id() {
        assert_eq!(derived_id(&["a", "b"]), derived_id(&["a", "b"]));
    }

    #[test]
    fn parts_are_not_ambiguous() {
        assert_ne!(derived_id(&["ab", "c"]), derived_id(&["a", "bc"]));
        assert_ne!(derived_id(&["a", "b"]), derived_id(&["b", "a"]));
    }

    /// The name as the first version of [`derived_id`] built it: one string, then
    /// `Uuid::new_v5` and its `Display`.
    fn reference(parts: &[&str]) -> String {
        let mut name = String::new();
        for part in parts {
            name.push_str(&part.len().to_string());
            name.push(':');
            name.push_str(part);
        }
        Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
    }

    #[test]
    fn ids_are_the_uuid_v5_of_the_length_prefixed_name() {
        let long = "x".repeat(1_000);
        let block_edges: Vec<String> = (50..=140).map(|n| "b".repeat(n)).collect();
        let mut cases: Vec<Vec<&str>> = vec![
            vec![],
            vec![""],
            vec!["", ""],
            vec!["", "a", ""],
            vec!["10048213", "PROMO-001", "week-1", "7"],
            vec!["cpp", "acc#1/ü", "Promo %?", "ß∂ƒ©", "日本語", "🎉"],
            vec![&long],
            vec![&long, "", &long],
        ];
        cases.extend(block_edges.iter().map(|part| vec![part.as_str()]));
        cases.extend(block_edges.iter().map(|part| vec!["k", part.as_str(), "é"]));
        for parts in &cases {
            assert_eq!(derived_id(parts), reference(parts), "{parts:?}");
        }
    }

    #[test]
    fn a_known_id_stays_the_same() {
        // Ids already stored (DynamoDB keys, onsite message ids) must not change: these are
        // the UUIDs v5 of `1:a1:b` and `8:acc#1/ü9:日本語0:` in the namespace, computed apart.
        assert_eq!(
            derived_id(&["a", "b"]),
            "82fe0055-fa49-51e1-a78e-0bdf1736aca6"
        );
        assert_eq!(
            derived_id(&["acc#1/ü", "日本語", ""]),
            "0454e301-d8dc-5bb0-aed3-55579e187ec3"
        );
    }

    #[test]
    fn length_prefixes_are_decimal() {
        let mut buffer = [0u8; LENGTH_PREFIX_BYTES];
        for (len, written) in [(0, "0:"), (7, "7:"), (10, "10:"), (305, "305:")] {
            assert_eq!(length_prefix(len, &mut buffer), written.as_bytes());
        }
        let max = format!("{}:", usize::MAX);
        assert_eq!(length_prefix(usize::MAX, &mut buffer), max.as_bytes());
    }
}
