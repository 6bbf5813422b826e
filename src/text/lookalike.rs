//! Characters that make a phrase look right and never match: invisible format characters, and letters of
//! another script mixed into a Latin word (Cyrillic `а` in "аgent"). The compiler turns each into a lint.

/// A suspicious character in a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspicious {
    /// The character.
    pub ch: char,
    /// Its byte offset in the phrase.
    pub offset: usize,
    /// What it is, in plain words.
    pub description: String,
}

/// Invisible characters: zero-width spaces and joiners, direction marks and embeddings, word joiners, the
/// byte-order mark, the soft hyphen and the Mongolian vowel separator (the format characters that turn up in
/// pasted text).
fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn script(c: char) -> Option<&'static str> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' => Some("Latin"),
        '\u{0370}'..='\u{03FF}' => Some("Greek"),
        '\u{0400}'..='\u{04FF}' => Some("Cyrillic"),
        _ => None,
    }
}

/// Every invisible character, and every Greek or Cyrillic letter in a word that also has Latin letters.
pub fn suspicious_chars(phrase: &str) -> Vec<Suspicious> {
    let mut found = Vec::new();
    let mut word_start = 0;
    for (at, c) in phrase.char_indices().chain(std::iter::once((phrase.len(), ' '))) {
        if invisible(c) {
            found.push(Suspicious {
                ch: c,
                offset: at,
                description: format!("the invisible character U+{:04X} at byte {at}", c as u32),
            });
            continue;
        }
        if c.is_alphanumeric() {
            continue;
        }
        let word = phrase.get(word_start..at).unwrap_or("");
        let latin = word.chars().any(|c| script(c) == Some("Latin"));
        for (i, w) in word.char_indices() {
            if let Some(other @ ("Greek" | "Cyrillic")) = script(w)
                && latin
            {
                found.push(Suspicious {
                    ch: w,
                    offset: word_start + i,
                    description: format!(
                        "the {other} letter `{w}` (U+{:04X}) among Latin letters, where it looks like a Latin one",
                        w as u32
                    ),
                });
            }
        }
        word_start = at + c.len_utf8();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_invisible_and_mixed_script_characters() {
        let found = suspicious_chars("\u{0430}gent");
        assert_eq!(found.len(), 1);
        assert!(found[0].description.contains("Cyrillic letter `а`"));
        assert_eq!(suspicious_chars("ag\u{200B}ent")[0].offset, 2);
        assert!(suspicious_chars("agent").is_empty());
        assert!(suspicious_chars("ошибка").is_empty(), "a wholly Cyrillic word is fine");
        assert!(suspicious_chars("señor αβγ").is_empty());
    }
}
