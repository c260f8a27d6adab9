//! The one rule that keeps personal numbers out of messages.
//!
//! A Danish personal number (PNR) is ten digits, `DDMMYYSSSS`, often written `DDMMYY-SSSS`.
//! Any run of ten or more digits in a message may be one (or contain one), so the rule keeps
//! the first six digits (the birth date, which an operator needs to tell persons apart and
//! which alone identifies nobody) and replaces the rest by `x`, after a hyphen: `1510730001`
//! and `151073-0001` both become `151073-xxxx`. Numbers that cprsift itself prints and that
//! may reach ten digits (byte offsets in a national extract) are written with
//! [`group_thousands`], so the rule never has to guess.

use std::borrow::Cow;

/// Masks every run of ten or more ASCII digits, and every `DDDDDD-DDDD`, as the module
/// documentation says. Text without either is returned as it is, without copying.
pub fn mask_personal_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already in `out`
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let run_end = digits_end(bytes, i);
        let run = run_end - i;
        let hyphenated = run == 6
            && bytes.get(run_end) == Some(&b'-')
            && digits_end(bytes, run_end + 1) == run_end + 5;
        let (masked_digits, end) = if run >= 10 {
            (run - 6, run_end)
        } else if hyphenated {
            (4, run_end + 5)
        } else {
            i = run_end;
            continue;
        };
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..i + 6]);
        o.push('-');
        o.extend(std::iter::repeat_n('x', masked_digits));
        copied = end;
        i = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The end of the run of ASCII digits starting at `from`.
fn digits_end(bytes: &[u8], from: usize) -> usize {
    bytes.get(from..).map_or(from, |rest| {
        from + rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// Writes `n` with a comma between groups of three digits (`16,578,021,299`): how messages
/// show numbers that may reach ten digits, such as byte offsets.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow oracle: no run of ten digits survives, and nothing but digits changes.
    fn has_ten_digits_in_a_row(s: &str) -> bool {
        s.as_bytes()
            .windows(10)
            .any(|w| w.iter().all(u8::is_ascii_digit))
    }

    #[test]
    fn personal_numbers_are_masked_in_both_forms() {
        let cases = [
            ("1510730001", "151073-xxxx"),
            ("151073-0001", "151073-xxxx"),
            ("pnr = [1510730001]", "pnr = [151073-xxxx]"),
            (
                "integer `1510730001`, expected",
                "integer `151073-xxxx`, expected",
            ),
            ("a 15107300011 b", "a 151073-xxxxx b"),
            (
                "two 0101651234 and 020202-1111.",
                "two 010165-xxxx and 020202-xxxx.",
            ),
            ("byte 123456789, line 42", "byte 123456789, line 42"),
            ("1234567-1234", "1234567-1234"),
            ("151073-001", "151073-001"),
            ("æøå 1510730001 æøå", "æøå 151073-xxxx æøå"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(mask_personal_numbers(input), want, "{input}");
            assert!(!has_ten_digits_in_a_row(&mask_personal_numbers(input)));
        }
        assert!(matches!(
            mask_personal_numbers("no numbers"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn large_numbers_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(16_578_021_299), "16,578,021,299");
        assert!(!has_ten_digits_in_a_row(&group_thousands(u64::MAX)));
    }
}
