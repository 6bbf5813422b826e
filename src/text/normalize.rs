//! Normalisation: the one transformation applied identically to phrases (when a policy is compiled) and to
//! messages (when they are scanned), so that a phrase matches however the customer typed it.
//!
//! In order, per character:
//! 1. Unicode NFKD, per combining sequence (a starter and the marks after it), so `ﬁ` is `fi` and `Ａ` is
//!    `A`; then **diacritics fold**: the marks of the Combining Diacritical Marks block (U+0300 to U+036F) are
//!    dropped, so `é`, `é` typed as `e` + combining accent, and a plain `e` are one letter. Spanish is written
//!    with and without accents ("corazón", "corazon"), and a phrase author should not have to write both; the
//!    price is that `ñ` folds to `n` ("año" and "ano" meet), as in every accent-insensitive search. Marks of other
//!    blocks (Devanagari vowel signs, say) are kept: they are letters, not accents.
//! 2. Lowercase (full Unicode case mapping).
//! 3. Curly quotes and apostrophes become `'` and `"`; hyphens and dashes become spaces (so "self-harm" and
//!    "self harm" are one phrase).
//! 4. Runs of white space become one space.
//! 5. A digit between two letters reads as the letter it looks like ("su1c1dal" is "suicidal"): 0 o, 1 i,
//!    3 e, 4 a, 5 s, 7 t. Numbers ("911", "24/7", "401k") are untouched.
//! 6. **Stretched letters are squeezed**: a letter repeated in a row is kept once ("heeelp" -> "help"). This is
//!    applied to every repeated letter, ordinary doubles included ("book" -> "bok"), on both sides: since the
//!    phrase is squeezed too, "book" still matches "book", and "boooook" matches it as well. The price is that a
//!    few distinct words collide ("to"/"too", "of"/"off"), which matters little for phrases of several words.
//!
//! Every normalised byte remembers the original bytes it came from, so matches are reported as byte spans of the
//! customer's own text.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::canonical_combining_class;

/// A normalised text with, for each of its bytes, the span of original bytes it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each byte of `text`: the start and end of the original bytes that produced it.
    spans: Vec<(u32, u32)>,
    /// The last character pushed (to squeeze repeats without decoding `text` backwards).
    last: Option<char>,
}

impl Normalized {
    /// The original byte range covered by normalised bytes `start..end`.
    pub fn original(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        let from = self.spans.get(start).map(|s| s.0 as usize).unwrap_or(0);
        let to =
            end.checked_sub(1).and_then(|last| self.spans.get(last)).map(|s| s.1 as usize).unwrap_or(from);
        from..to.max(from)
    }
}

/// Normalises a message or a phrase.
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len()),
        spans: Vec::with_capacity(text.len()),
        last: None,
    };
    let mut rest = text.char_indices().peekable();
    while let Some((start, c)) = rest.next() {
        let next_is_mark =
            rest.peek().is_some_and(|(_, n)| !n.is_ascii() && canonical_combining_class(*n) != 0);
        if c.is_ascii() && !next_is_mark {
            let c = match leet(c) {
                Some(letter)
                    if out.last.is_some_and(char::is_alphabetic)
                        && rest.peek().is_some_and(|(_, n)| n.is_alphabetic()) =>
                {
                    letter
                }
                _ => c.to_ascii_lowercase(),
            };
            push_ascii(&mut out, c, start);
            continue;
        }
        // A combining sequence: this character and the non-starters that follow it.
        let mut end = start + c.len_utf8();
        while let Some(&(at, next)) = rest.peek() {
            if canonical_combining_class(next) == 0 {
                break;
            }
            end = at + next.len_utf8();
            rest.next();
        }
        let sequence = text.get(start..end).unwrap_or("");
        for decomposed in sequence.nfkd().filter(|c| !is_diacritic(*c)) {
            for lower in decomposed.to_lowercase() {
                push(&mut out, lower, start, end);
            }
        }
    }
    out
}

/// [`push`] for one ASCII character, the common case, without the Unicode tables.
#[inline]
fn push_ascii(out: &mut Normalized, c: char, start: usize) {
    let c = match c {
        '`' => '\'',
        '-' => ' ',
        c if c.is_ascii_whitespace() => ' ',
        c => c,
    };
    if out.last == Some(c) && (c == ' ' || c.is_ascii_alphabetic()) {
        if let Some(span) = out.spans.last_mut() {
            span.1 = start as u32 + 1;
        }
        return;
    }
    if c == ' ' && out.last.is_none() {
        return;
    }
    out.text.push(c);
    out.spans.push((start as u32, start as u32 + 1));
    out.last = Some(c);
}

/// Step 3: curly quotes and apostrophes made straight, hyphens and dashes made spaces, white space a space.
fn straighten(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{02BC}' | '\u{2032}' | '\u{00B4}' | '`' => {
            '\''
        }
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => '"',
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => ' ',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

/// A text normalised as [`normalize`] does, except that ordinary double letters are kept: only runs of three
/// or more of a letter are cut to two. Stemmers need the word as spelled ("bleeding", "actress"); squeezing
/// first would change the suffixes they recognise. Used for the stems of words, never for matching bytes.
pub(super) fn unsqueezed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut last, mut run) = (None, 0usize);
    for c in text.nfkd().filter(|c| !is_diacritic(*c)).flat_map(char::to_lowercase).map(straighten) {
        if last == Some(c) {
            run += 1;
            if (c == ' ' && run >= 1) || (c.is_alphabetic() && run >= 2) {
                continue;
            }
        } else {
            run = 0;
        }
        if c == ' ' && last.is_none() {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    out.truncate(out.trim_end().len());
    out
}

/// Appends one character, applying steps 3 to 5.
fn push(out: &mut Normalized, c: char, start: usize, end: usize) {
    let c = straighten(c);
    let last = out.last;
    if let Some(prev) = last
        && prev == c
        && (c == ' ' || c.is_alphabetic())
    {
        // A repeated letter or space: keep one, and let it cover the original bytes of both.
        let width = c.len_utf8();
        let from = out.spans.len().saturating_sub(width);
        for span in out.spans.get_mut(from..).unwrap_or_default() {
            span.1 = end as u32;
        }
        return;
    }
    if c == ' ' && last.is_none() {
        // Leading white space carries nothing.
        return;
    }
    out.text.push(c);
    for _ in 0..c.len_utf8() {
        out.spans.push((start as u32, end as u32));
    }
    out.last = Some(c);
}

/// The letter a digit stands for when it is written inside a word ("su1c1dal", "h3lp"): only between two
/// letters, so numbers ("911", "24/7", "401k") are left as they are.
fn leet(c: char) -> Option<char> {
    match c {
        '0' => Some('o'),
        '1' => Some('i'),
        '3' => Some('e'),
        '4' => Some('a'),
        '5' => Some('s'),
        '7' => Some('t'),
        _ => None,
    }
}

/// Whether a character is an accent that folds away (the Combining Diacritical Marks block).
fn is_diacritic(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Whether a character is part of a word (letters and digits of any script).
pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn folds_case_width_ligatures_quotes_and_space() {
        assert_eq!(n("ＡＧＥＮＴ"), "agent");
        assert_eq!(n("ﬁle"), "file");
        assert_eq!(n("I DON\u{2019}T   need\tan  Agent"), "i don't ned an agent");
        assert_eq!(n("self-harm"), "self harm");
    }

    #[test]
    fn folds_diacritics_however_they_are_typed() {
        assert_eq!(n("Señor"), "senor");
        assert_eq!(n("Sen\u{0303}or"), "senor");
        assert_eq!(n("ataque al corazón"), n("ataque al corazon"));
        assert_eq!(n("me envenené"), "me envenene");
        assert_eq!(n("ÉL SE DESMAYÓ"), "el se desmayo");
        assert_eq!(n("naïve café"), "naive cafe");
        // Not accents: kept.
        assert_eq!(n("किताब"), "किताब");
        assert_eq!(n("straße"), "straße");
    }

    #[test]
    fn squeezes_stretched_letters_on_both_sides() {
        assert_eq!(n("heeelp"), n("help"));
        assert_eq!(n("AGENNNTTT"), n("agent"));
        assert_eq!(n("plzzzz"), n("plz"));
        assert_eq!(n("book"), n("boooook"));
    }

    #[test]
    fn digits_inside_words_read_as_letters() {
        assert_eq!(n("su1c1dal thoughts"), n("suicidal thoughts"));
        assert_eq!(n("h3lp"), "help");
        assert_eq!(n("call 911 24/7 or 401k"), "cal 911 24/7 or 401k");
        assert_eq!(n("a1c"), "aic");
    }

    #[test]
    fn unsqueezed_keeps_double_letters_for_stemmers() {
        assert_eq!(unsqueezed("BLEEEEDING  heavily"), "bleeding heavily");
        assert_eq!(unsqueezed("Actress’s café"), "actress's cafe");
        assert_eq!(normalize(&unsqueezed("bleeding")).text, normalize("bleeding").text);
    }

    #[test]
    fn maps_back_to_original_bytes() {
        let text = "I need an AGENNNT now";
        let norm = normalize(text);
        let at = norm.text.find("agent").unwrap();
        let span = norm.original(at, at + "agent".len());
        assert_eq!(&text[span], "AGENNNT");

        let wide = "hi ＡＧＥＮＴ!";
        let norm = normalize(wide);
        let at = norm.text.find("agent").unwrap();
        assert_eq!(&wide[norm.original(at, at + 5)], "ＡＧＥＮＴ");

        let emoji = "😀 ﬁle";
        let norm = normalize(emoji);
        let at = norm.text.find("file").unwrap();
        assert_eq!(&emoji[norm.original(at, at + 4)], "ﬁle");
    }
}
