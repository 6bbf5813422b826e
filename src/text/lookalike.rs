//! Characters that make a phrase look right and never match: invisible format characters, and letters of
//! another script mixed into a Latin word (Cyrillic `а` in "аgent"). The compiler turns each into a lint.

use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;
use unicode_security::confusable_detection::skeleton;

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

/// Every invisible character, and every letter of a word whose letters are not all of one script (UTS #39
/// mixed-script detection) that is of another script than most of the word: the Cyrillic `а` in "аgent", where
/// it looks like a Latin one. A word wholly in one script ("ошибка", "αβγ") is fine.
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
        if !word.is_single_script() {
            mixed(word, word_start, &mut found);
        }
        word_start = at + c.len_utf8();
    }
    found
}

/// The letters of a mixed-script `word` (at `base` in the phrase) that are not of its main script.
fn mixed(word: &str, base: usize, found: &mut Vec<Suspicious>) {
    let scripts: Vec<Script> = word.chars().map(|c| c.script()).filter(|s| is_specific(*s)).collect();
    // The main script: the one most letters are in (the first of a tie).
    let main = scripts
        .iter()
        .copied()
        .max_by_key(|s| (scripts.iter().filter(|x| *x == s).count(), std::cmp::Reverse(first(&scripts, *s))));
    let Some(main) = main else { return };
    for (i, w) in word.char_indices() {
        let script = w.script();
        if !is_specific(script) || script == main {
            continue;
        }
        let looks: String = skeleton(&w.to_string()).collect();
        let like = if looks.chars().all(|l| l.script() == main) && looks != w.to_string() {
            format!("where it looks like the {} `{looks}`", main.full_name())
        } else {
            format!("where it looks like a {} one", main.full_name())
        };
        found.push(Suspicious {
            ch: w,
            offset: base + i,
            description: format!(
                "the {} letter `{w}` (U+{:04X}) among {} letters, {like}",
                script.full_name(),
                w as u32,
                main.full_name()
            ),
        });
    }
}

/// A script of its own (not Common or Inherited, which every script shares: digits, marks).
fn is_specific(script: Script) -> bool {
    !matches!(script, Script::Common | Script::Inherited | Script::Unknown)
}

fn first(scripts: &[Script], script: Script) -> usize {
    scripts.iter().position(|s| *s == script).unwrap_or(usize::MAX)
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
        // The odd one out is reported, whichever script the word is mostly in.
        let found = suspicious_chars("oшибка");
        assert_eq!((found.len(), found[0].ch), (1, 'o'), "{found:?}");
        assert!(found[0].description.contains("among Cyrillic letters"), "{found:?}");
        // Greek omicron in a Latin word, with what it looks like.
        let found = suspicious_chars("d\u{03BF}ctor");
        assert!(found[0].description.contains("looks like the Latin `o`"), "{found:?}");
        // Digits and marks belong to every script.
        assert!(suspicious_chars("covid19 cafe\u{0301}").is_empty());
    }
}
