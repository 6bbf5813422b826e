//! Redaction: personal data found by hand-written scanners (no regular expressions: each is one bounded pass)
//! and replaced by a typed marker such as `[email]`.
//!
//! | kind | found as |
//! |---|---|
//! | `email` | `local@domain.tld` |
//! | `card_number` | 13 to 19 digits, optionally grouped by single spaces or dashes, **passing the Luhn check** |
//! | `ssn` | `ddd-dd-dddd` or `ddd dd dddd` outside the never-issued ranges (area 000, 666, 9xx; group 00; serial 0000) |
//! | `account_number` | an IBAN (two letters, two digits, 11 to 30 letters or digits), or a token of 4+ digits after a cue ("account", "acct", "routing", "iban") |
//! | `record_number` | a token of 4+ digits after a cue ("MRN", "medical record", "patient id", "member id", "policy number", "case number", "claim") |
//! | `date_of_birth` | a date (numeric or with a month name) within a few words after a cue ("born", "DOB", "date of birth", "birthday") |
//! | `phone` | 7 to 15 digits with phone punctuation (`+`, spaces, dashes, dots, parentheses, an `x` extension) |
//!
//! Scanners run in that order and a later one never claims text an earlier one did, so a card number is never
//! also a phone. Dates of birth need a cue because most dates in a support chat are appointments, not birthdays.

use std::ops::Range;

/// A kind of personal data.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A payment card number (Luhn-valid).
    CardNumber,
    /// A US Social Security number.
    Ssn,
    /// A bank account number or IBAN.
    AccountNumber,
    /// A medical record, member, policy, case or claim number.
    RecordNumber,
    /// A date of birth.
    DateOfBirth,
    /// A phone number.
    Phone,
}

impl PiiKind {
    /// Every kind, in the order the scanners run.
    pub const ALL: [PiiKind; 7] = [
        PiiKind::Email,
        PiiKind::CardNumber,
        PiiKind::Ssn,
        PiiKind::AccountNumber,
        PiiKind::RecordNumber,
        PiiKind::DateOfBirth,
        PiiKind::Phone,
    ];

    /// The name used in policies (`redact ssn, email`) and markers.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Parses a policy name (`dob` is accepted for `date_of_birth`).
    pub fn parse(name: &str) -> Option<PiiKind> {
        if name == "dob" { Some(PiiKind::DateOfBirth) } else { name.parse().ok() }
    }
}

/// One piece of personal data found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: PiiKind,
    /// Its bytes in the text.
    pub span: Range<usize>,
}

/// A text with its personal data replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text, each piece replaced by `[kind]`.
    pub text: String,
    /// What was replaced, with spans in the original text.
    pub found: Vec<Found>,
}

/// Finds every piece of personal data of the given kinds, in text order.
pub fn find(text: &str, kinds: &[PiiKind]) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    // Nothing to redact (no retention rule asks): a packet's every turn comes here, so not even a look.
    if kinds.is_empty() {
        return found;
    }
    // Every kind but email needs a digit, and email needs an `@`: most messages have neither, and cost nothing.
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    let has_at = text.contains('@');
    if !has_digit && !has_at {
        return found;
    }
    let mut claim = |kind: PiiKind, spans: Vec<Range<usize>>| {
        for span in spans {
            if !found.iter().any(|f| f.span.start < span.end && span.start < f.span.end) {
                found.push(Found { kind, span });
            }
        }
    };
    for kind in PiiKind::ALL {
        if !kinds.contains(&kind) {
            continue;
        }
        if (kind == PiiKind::Email && !has_at) || (kind != PiiKind::Email && !has_digit) {
            continue;
        }
        let spans = match kind {
            PiiKind::Email => emails(text),
            PiiKind::CardNumber => digit_runs(text).into_iter().filter(|r| is_card(text, r)).collect(),
            PiiKind::Ssn => ssns(text),
            PiiKind::AccountNumber => {
                let mut spans = ibans(text);
                spans.extend(after_cue(text, ACCOUNT_CUES, 4));
                spans
            }
            PiiKind::RecordNumber => after_cue(text, RECORD_CUES, 4),
            PiiKind::DateOfBirth => dates_of_birth(text),
            PiiKind::Phone => phones(text),
        };
        claim(kind, spans);
    }
    found.sort_by_key(|f| f.span.start);
    found
}

/// Replaces every piece of personal data of the given kinds by `[kind]`.
pub fn redact(text: &str, kinds: &[PiiKind]) -> Redacted {
    let found = find(text, kinds);
    Redacted { text: replaced(text, &found), found }
}

/// `text` with each piece `found` in it (in text order, as [`find`] returns them) replaced by `[kind]`.
pub fn replaced(text: &str, found: &[Found]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(text.get(at..f.span.start).unwrap_or(""));
        out.push('[');
        out.push_str(f.kind.name());
        out.push(']');
        at = f.span.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

fn byte(text: &str, at: usize) -> Option<u8> {
    text.as_bytes().get(at).copied()
}

fn is_word_byte(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b >= 0x80)
}

fn emails(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    let mut spans = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start =
            bytes.get(..at).map(|b| at - b.iter().rev().take_while(|c| local(**c)).count()).unwrap_or(at);
        let mut end =
            at + 1 + bytes.get(at + 1..).map(|b| b.iter().take_while(|c| domain(**c)).count()).unwrap_or(0);
        while end > at + 1 && matches!(byte(text, end - 1), Some(b'.' | b'-')) {
            end -= 1;
        }
        let host = text.get(at + 1..end).unwrap_or("");
        let tld = host.rsplit('.').next().unwrap_or("");
        if start < at && host.contains('.') && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
        {
            spans.push(start..end);
        }
    }
    spans
}

/// Runs of digits joined by single spaces or dashes, not touching letters or digits at either end.
fn digit_runs(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) || (i > 0 && is_word_byte(byte(text, i - 1))) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while let Some(b) = byte(text, end) {
            let joins = matches!(b, b' ' | b'-') && byte(text, end + 1).is_some_and(|n| n.is_ascii_digit());
            if b.is_ascii_digit() || joins {
                end += 1;
            } else {
                break;
            }
        }
        if !is_word_byte(byte(text, end)) {
            runs.push(start..end);
        }
        i = end.max(i + 1);
    }
    runs
}

fn digits(text: &str, span: &Range<usize>) -> Vec<u8> {
    text.get(span.clone()).unwrap_or("").bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// The Luhn check (ISO/IEC 7812-1): double every second digit from the right.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

fn is_card(text: &str, span: &Range<usize>) -> bool {
    let d = digits(text, span);
    (13..=19).contains(&d.len()) && luhn(&d)
}

fn ssns(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    for run in digit_runs(text) {
        let s = text.get(run.clone()).unwrap_or("");
        let groups: Vec<&str> = s.split(['-', ' ']).collect();
        let shaped = matches!(groups.as_slice(), [a, g, n] if a.len() == 3 && g.len() == 2 && n.len() == 4);
        let near_cue = {
            let before = text.get(..run.start).unwrap_or("").to_lowercase();
            let tail: String = before.chars().rev().take(24).collect::<String>().chars().rev().collect();
            tail.contains("ssn") || tail.contains("social security")
        };
        let plain = groups.len() == 1 && s.len() == 9 && near_cue;
        if !(shaped || plain) {
            continue;
        }
        let d = digits(text, &run);
        let area = u32::from(d.first().copied().unwrap_or(0)) * 100
            + u32::from(d.get(1).copied().unwrap_or(0)) * 10
            + u32::from(d.get(2).copied().unwrap_or(0));
        let group = d.get(3..5).is_some_and(|g| g != [0, 0]);
        let serial = d.get(5..9).is_some_and(|s| s != [0, 0, 0, 0]);
        if area != 0 && area != 666 && area < 900 && group && serial {
            spans.push(run);
        }
    }
    spans
}

fn ibans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let starts = (i == 0 || !is_word_byte(byte(text, i - 1)))
            && bytes.get(i..i + 2).is_some_and(|b| b.iter().all(u8::is_ascii_uppercase))
            && bytes.get(i + 2..i + 4).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
        if starts {
            let len = bytes
                .get(i..)
                .map(|b| b.iter().take_while(|c| c.is_ascii_alphanumeric()).count())
                .unwrap_or(0);
            if (15..=34).contains(&len) {
                spans.push(i..i + len);
                i += len;
                continue;
            }
        }
        i += 1;
    }
    spans
}

const ACCOUNT_CUES: &[&str] = &["account", "acct", "a/c", "routing", "iban", "sort code", "cuenta"];
const RECORD_CUES: &[&str] = &[
    "mrn",
    "medical record",
    "record number",
    "record no",
    "patient id",
    "patient number",
    "member id",
    "member number",
    "policy number",
    "policy no",
    "case number",
    "case no",
    "claim",
    "expediente",
];

/// Tokens with at least `min_digits` digits that follow a cue within a few bytes ("account number: 12345678").
fn after_cue(text: &str, cues: &[&str], min_digits: usize) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    for cue in cues {
        for (at, _) in lower.match_indices(cue) {
            if at > 0 && is_word_byte(byte(&lower, at - 1)) {
                continue;
            }
            let window_end = (at + cue.len() + 28).min(text.len());
            let mut i = at + cue.len();
            while i < window_end {
                if byte(text, i).is_some_and(|b| b.is_ascii_alphanumeric())
                    && !is_word_byte(i.checked_sub(1).and_then(|p| byte(text, p)))
                {
                    let len = text
                        .as_bytes()
                        .get(i..)
                        .map(|b| b.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'-').count())
                        .unwrap_or(0);
                    let token = text.get(i..i + len).unwrap_or("");
                    if token.bytes().filter(u8::is_ascii_digit).count() >= min_digits {
                        spans.push(i..i + len);
                        break;
                    }
                    i += len.max(1);
                } else {
                    i += 1;
                }
            }
        }
    }
    spans
}

const DOB_CUES: &[&str] = &[
    "born",
    "dob",
    "d.o.b",
    "date of birth",
    "birth date",
    "birthdate",
    "birthday",
    "fecha de nacimiento",
    "nacido",
    "nacida",
];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "ene", "abr", "ago",
    "dic",
];

/// A date starting at `at`: `12/31/1985`, `1985-12-31`, `31.12.85`, `March 3, 1985`, `3 March 1985`.
fn date_at(text: &str, at: usize) -> Option<usize> {
    let rest = text.get(at..)?;
    let numeric: usize =
        rest.bytes().take_while(|b| b.is_ascii_digit() || matches!(b, b'/' | b'-' | b'.')).count();
    let token = rest.get(..numeric)?.trim_end_matches(['.', '-', '/']);
    let parts: Vec<&str> = token.split(['/', '-', '.']).collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 4) {
        return Some(at + token.len());
    }
    // Month-name forms: up to four words made of a month, a day and a year.
    let lower = rest.to_ascii_lowercase();
    let mut end = 0;
    let mut has_month = false;
    let mut has_number = false;
    for (i, word) in lower.split_inclusive([' ', ',']).take(6).enumerate() {
        let w = word.trim_matches([' ', ',']);
        if w.is_empty() {
            end += word.len();
            continue;
        }
        let is_month = w.len() >= 3 && MONTHS.iter().any(|m| w.starts_with(m));
        let is_number = !w.is_empty()
            && w.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']).bytes().all(|b| b.is_ascii_digit())
            && w.bytes().next().is_some_and(|b| b.is_ascii_digit());
        if !(is_month || is_number || (w == "of" && i > 0)) {
            break;
        }
        has_month |= is_month;
        has_number |= is_number;
        end += word.len();
    }
    (has_month && has_number)
        .then(|| at + lower.get(..end).map(|s| s.trim_end_matches([' ', ',']).len()).unwrap_or(0))
}

fn dates_of_birth(text: &str) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    for cue in DOB_CUES {
        for (at, _) in lower.match_indices(cue) {
            let window_end = (at + cue.len() + 30).min(text.len());
            let mut i = at + cue.len();
            while i < window_end {
                if text.is_char_boundary(i)
                    && !is_word_byte(i.checked_sub(1).and_then(|p| byte(text, p)))
                    && let Some(end) = date_at(text, i)
                {
                    spans.push(i..end);
                    break;
                }
                i += 1;
            }
        }
    }
    spans
}

fn phones(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        let can_start = (b.is_ascii_digit() || b == b'+' || b == b'(')
            && !is_word_byte(i.checked_sub(1).and_then(|p| byte(text, p)));
        if !can_start {
            i += 1;
            continue;
        }
        let mut end = i;
        let mut count = 0;
        let mut separators = 0;
        while let Some(c) = byte(text, end) {
            match c {
                b'0'..=b'9' => count += 1,
                b' ' | b'-' | b'.' | b'(' | b')' | b'/' => separators += 1,
                b'+' if end == i => {}
                b'x' if count >= 7 && byte(text, end + 1).is_some_and(|n| n.is_ascii_digit()) => {}
                _ => break,
            }
            if count > 15 {
                break;
            }
            end += 1;
        }
        while end > i && !byte(text, end - 1).is_some_and(|c| c.is_ascii_digit()) {
            end -= 1;
        }
        let span = i..end;
        let s = text.get(span.clone()).unwrap_or("");
        let looks_like_date =
            s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-');
        let plausible =
            (7..=15).contains(&count) && (separators > 0 || b == b'+' || count >= 10) && !looks_like_date;
        if plausible && !is_word_byte(byte(text, end)) && !s.contains("  ") {
            spans.push(span);
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        find(text, &PiiKind::ALL).into_iter().map(|f| (f.kind, &text[f.span])).collect()
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(
            kinds("mail me at jo.smith+x@example.co.uk."),
            vec![(PiiKind::Email, "jo.smith+x@example.co.uk")]
        );
        assert_eq!(
            kinds("card 4111 1111 1111 1111 please"),
            vec![(PiiKind::CardNumber, "4111 1111 1111 1111")]
        );
        assert_eq!(kinds("my ssn is 123-45-6789"), vec![(PiiKind::Ssn, "123-45-6789")]);
        assert_eq!(
            kinds("IBAN GB82WEST12345698765432"),
            vec![(PiiKind::AccountNumber, "GB82WEST12345698765432")]
        );
        assert_eq!(kinds("account number: 00123456"), vec![(PiiKind::AccountNumber, "00123456")]);
        assert_eq!(kinds("my MRN is A-0045821"), vec![(PiiKind::RecordNumber, "A-0045821")]);
        assert_eq!(
            kinds("I was born on March 3, 1985 in Ohio"),
            vec![(PiiKind::DateOfBirth, "March 3, 1985")]
        );
        assert_eq!(kinds("DOB 03/14/1990"), vec![(PiiKind::DateOfBirth, "03/14/1990")]);
        assert_eq!(kinds("call +1 (555) 123-4567 now"), vec![(PiiKind::Phone, "+1 (555) 123-4567")]);
        assert_eq!(kinds("ring 555.123.4567"), vec![(PiiKind::Phone, "555.123.4567")]);
        assert_eq!(kinds("+44 20 7946 0958"), vec![(PiiKind::Phone, "+44 20 7946 0958")]);
    }

    #[test]
    fn near_misses_are_left_alone() {
        assert!(
            kinds("card 4111 1111 1111 1112").iter().all(|(k, _)| *k != PiiKind::CardNumber),
            "fails Luhn"
        );
        assert!(kinds("call me at 5").is_empty());
        assert!(kinds("my appointment is on 2026-11-24").is_empty(), "a date without a birth cue");
        assert!(
            kinds("ssn 000-12-3456 and 666-12-3456 and 912-12-3456").iter().all(|(k, _)| *k != PiiKind::Ssn)
        );
        assert!(kinds("the price is 1,299 dollars").is_empty());
        assert!(kinds("user@localhost").is_empty());
    }

    #[test]
    fn redaction_replaces_with_markers() {
        let r = redact("email a@b.io or call 555-123-4567", &[PiiKind::Email, PiiKind::Phone]);
        assert_eq!(r.text, "email [email] or call [phone]");
        let r = redact("email a@b.io", &[PiiKind::Phone]);
        assert_eq!(r.text, "email a@b.io", "only the kinds asked for");
    }

    #[test]
    fn luhn_check() {
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
    }
}
