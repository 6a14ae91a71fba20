//! RFC 3339 times as the envelope writes them, written and read without chrono's general
//! formatter and parser on the common path.
//!
//! Every hop writes the event's `time` and one timestamp per stage, and reads them back: with
//! chrono's `to_rfc3339_opts` and `parse_from_rfc3339` that was about 5 % of the chain's
//! instructions. The forms here are the ones chrono writes (UTC, `Z`, four-digit year); any
//! other time — a year outside 0–9999, a leap second — is written by chrono, and any text not
//! of the one form [`parse_millis`] knows is read by chrono, so the results are chrono's in
//! every case (the tests compare the two over many times and texts).

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};

/// How many digits of the second's fraction to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Always three (chrono's `SecondsFormat::Millis`): the stage timestamps.
    Millis,
    /// None, three, six or nine, as few as the value needs (chrono's `SecondsFormat::AutoSi`,
    /// the form chrono's serde writes): the event's `time`.
    AutoSi,
}

impl Fraction {
    fn chrono(self) -> SecondsFormat {
        match self {
            Fraction::Millis => SecondsFormat::Millis,
            Fraction::AutoSi => SecondsFormat::AutoSi,
        }
    }
}

/// Appends `at` as RFC 3339 in UTC with a `Z`, as `at.to_rfc3339_opts(fraction, true)` writes
/// it.
pub(crate) fn write(out: &mut Vec<u8>, at: DateTime<Utc>, fraction: Fraction) {
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        out.extend_from_slice(at.to_rfc3339_opts(fraction.chrono(), true).as_bytes());
        return;
    }
    let mut text = *b"0000-00-00T00:00:00";
    digits(&mut text[0..4], year as u32);
    digits(&mut text[5..7], at.month());
    digits(&mut text[8..10], at.day());
    digits(&mut text[11..13], at.hour());
    digits(&mut text[14..16], at.minute());
    digits(&mut text[17..19], at.second());
    out.extend_from_slice(&text);
    let (value, width) = match fraction {
        Fraction::Millis => (nanos / 1_000_000, 3),
        Fraction::AutoSi if nanos == 0 => (0, 0),
        Fraction::AutoSi if nanos.is_multiple_of(1_000_000) => (nanos / 1_000_000, 3),
        Fraction::AutoSi if nanos.is_multiple_of(1_000) => (nanos / 1_000, 6),
        Fraction::AutoSi => (nanos, 9),
    };
    if width > 0 {
        let mut fraction = [b'0'; 10];
        fraction[0] = b'.';
        digits(&mut fraction[1..=width], value);
        out.extend_from_slice(&fraction[..=width]);
    }
    out.push(b'Z');
}

/// `at` as [`write`] writes it.
pub(crate) fn format(at: DateTime<Utc>, fraction: Fraction) -> String {
    let mut out = Vec::with_capacity(30);
    write(&mut out, at, fraction);
    // Only ASCII digits and punctuation, or chrono's own text.
    String::from_utf8(out).unwrap_or_else(|_| at.to_rfc3339_opts(fraction.chrono(), true))
}

/// Writes `value`'s lowest `out.len()` decimal digits into `out`, zero-padded.
fn digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Reads an RFC 3339 time as `DateTime::parse_from_rfc3339` does, in UTC. The form the
/// envelope writes (`2026-11-16T09:30:00.250Z`) is read here; any other text goes to chrono.
pub(crate) fn parse_millis(text: &str) -> Option<DateTime<Utc>> {
    fast(text.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` exactly, with every field in range; `None` for anything else.
fn fast(text: &[u8]) -> Option<DateTime<Utc>> {
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1, b'.', f0, f1, f2, b'Z'] =
        *text
    else {
        return None;
    };
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |value, &digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let (hour, minute, second) = (number(&[h0, h1])?, number(&[mi0, mi1])?, number(&[s0, s1])?);
    // Leap seconds (60) are chrono's to read.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        number(&[y0, y1, y2, y3])? as i32,
        number(&[mo0, mo1])?,
        number(&[d0, d1])?,
    )?;
    let time = date.and_hms_milli_opt(hour, minute, second, number(&[f0, f1, f2])?)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A SplitMix64 step: the same cases on every run.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn times() -> Vec<DateTime<Utc>> {
        let mut state = 7;
        let mut times: Vec<DateTime<Utc>> = (0..5_000)
            .map(|_| {
                // From before year 0 to after 9999, so chrono's path is taken too.
                let seconds = (next(&mut state) % 330_000_000_000) as i64 - 63_000_000_000;
                let nanos = match next(&mut state) % 4 {
                    0 => 0,
                    1 => (next(&mut state) % 1_000) as u32 * 1_000_000,
                    2 => (next(&mut state) % 1_000_000) as u32 * 1_000,
                    _ => (next(&mut state) % 1_000_000_000) as u32,
                };
                Utc.timestamp_opt(seconds, nanos)
                    .single()
                    .expect("in range")
            })
            .collect();
        // A leap second, and the edges of the fast path.
        times.push(
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|day| day.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .expect("a leap second")
                .and_utc(),
        );
        times.push(Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap());
        times.push(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap());
        times
    }

    #[test]
    fn writes_what_chrono_writes() {
        for at in times() {
            for fraction in [Fraction::Millis, Fraction::AutoSi] {
                assert_eq!(
                    format(at, fraction),
                    at.to_rfc3339_opts(fraction.chrono(), true),
                    "{at:?} {fraction:?}"
                );
            }
        }
    }

    #[test]
    fn reads_what_chrono_reads() {
        let chrono = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        };
        let mut texts: Vec<String> = times()
            .into_iter()
            .flat_map(|at| {
                [
                    format(at, Fraction::Millis),
                    format(at, Fraction::AutoSi),
                    at.to_rfc3339(),
                ]
            })
            .collect();
        texts.extend(
            [
                "2026-02-29T00:00:00.000Z",
                "2024-02-29T00:00:00.000Z",
                "2026-13-01T00:00:00.000Z",
                "2026-00-01T00:00:00.000Z",
                "2026-11-31T00:00:00.000Z",
                "2026-11-16T24:00:00.000Z",
                "2026-11-16T23:60:00.000Z",
                "2026-11-16T23:59:60.000Z",
                "2026-11-16T09:30:00.250z",
                "2026-11-16t09:30:00.250Z",
                "2026-11-16 09:30:00.250Z",
                "2026-11-16T09:30:00.25AZ",
                "2026-11-16T09:30:00,250Z",
                "+026-11-16T09:30:00.250Z",
                "2026-11-16T09:30:00.250+01:00",
                "2026-11-16T09:30:00Z",
                "2026-11-16T09:30:00.250",
                "",
                "soon",
            ]
            .map(String::from),
        );
        for text in texts {
            assert_eq!(parse_millis(&text), chrono(&text), "{text}");
        }
    }
}
