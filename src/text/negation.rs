//! Negation and contrast, read from the normalised text around a phrase.
//!
//! A phrase is **negated** when a negation cue ("no", "not", "don't", "never", "without", Spanish "no", "nunca",
//! "sin", ...) stands before it **in the same clause** and nothing starts a new clause in between. A clause ends
//! at `. , ; : ! ?`, at a contrast word ("but", "although", "pero", ...), and at a subject pronoun after the cue
//! ("this doesn't work I want an agent": "I" starts a new clause, so "agent" is not negated). The scope is at most
//! [`MAX_SCOPE_WORDS`] words. A verb of knowing right after the cue ("I don't **know** how to reach an agent")
//! takes the negation for itself. "can't" is deliberately not a cue: "I can't reach anyone" is a request, and
//! "can't breathe" is itself an emergency phrase.
//!
//! The matcher only reports negation; whether it stops a rule is the rule's tier's business (emergencies
//! ignore it by default).

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

/// How many words before a phrase a negation cue may govern it from.
pub const MAX_SCOPE_WORDS: usize = 8;

/// Negation cues, normalised (letters squeezed, apostrophes straight).
const CUES: &[&str] = &[
    "no", "not", "never", "don't", "dont", "do not", "doesn't", "dosn't", "doesnt", "didn't", "didnt",
    "isn't", "isnt", "aren't", "wasn't", "won't", "wouldn't", "without", "nor", "nope", "ni", "nunca", "sin",
    "tampoco", "jamás", "jamas",
];

/// Words that start a new clause when they follow a cue (subject pronouns, English and Spanish).
const NEW_SUBJECT: &[&str] = &[
    "i", "i'm", "i've", "you", "we", "they", "he", "she", "it", "it's", "yo", "tú", "tu", "él", "el", "ella",
    "nosotros", "ellos", "ellas", "usted",
];

/// Verbs of knowing and managing: after a cue they take the negation for themselves. In "I don't know how to
/// reach an agent" or "I'm not able to find a person" it is the knowing that is negated, not the request.
const SCOPE_TAKERS: &[&str] = &[
    "know",
    "knw",
    "understand",
    "sure",
    "find",
    "able",
    "figure",
    "get",
    "work",
    "works",
    "working",
    "help",
    "helping",
    "sé",
    "se",
    "sem",
    "entiendo",
    "puedo",
];

/// Contrast words: a clause boundary for negation, and the softener of frustration.
const CONTRASTS: &[&str] = &["but", "although", "though", "however", "yet", "pero", "aunque", "sino"];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\''
}

/// What a word does to a negation's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A contrast word or a new subject: the clause ends before it.
    Ends,
    /// A negation cue.
    Cue,
    /// A verb of knowing: right after a cue, it takes the negation.
    Takes,
}

/// The role of every listed word, so that each word of a scope costs one lookup rather than a walk over the
/// lists. A word in two lists keeps the role the lists are checked in: contrasts and subjects, then cues.
fn role(word: &str) -> Option<Role> {
    static ROLES: LazyLock<FxHashMap<&'static str, Role>> = LazyLock::new(|| {
        let mut roles = FxHashMap::default();
        let lists = [
            (SCOPE_TAKERS, Role::Takes),
            (CUES, Role::Cue),
            (NEW_SUBJECT, Role::Ends),
            (CONTRASTS, Role::Ends),
        ];
        for (list, role) in lists {
            for word in list {
                roles.insert(*word, role);
            }
        }
        roles
    });
    ROLES.get(word).copied()
}

/// Whether a cue governs the phrase starting at byte `start` of the normalised text.
pub(super) fn negated(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or("");
    // The word after the one looked at, nearer the phrase.
    let mut nearer: Option<&str> = None;
    for word in clause_words_back(before, MAX_SCOPE_WORDS) {
        match role(word) {
            Some(Role::Ends) => return false,
            // The word right after the cue (nearer the phrase) may take the negation for itself.
            Some(Role::Cue) => return !nearer.is_some_and(|w| role(w) == Some(Role::Takes)),
            Some(Role::Takes) | None => nearer = Some(word),
        }
    }
    false
}

/// Up to `max` words of the clause that ends `text`, nearest first.
fn clause_words_back(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut chars = text.char_indices().rev();
    let mut end = text.len();
    let mut given = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        while !done && given < max {
            let Some((at, c)) = chars.next() else {
                done = true;
                given += 1;
                return text.get(..end).filter(|w| !w.is_empty());
            };
            if is_word_char(c) {
                continue;
            }
            let word = text.get(at + c.len_utf8()..end).filter(|w| !w.is_empty());
            end = at;
            done = matches!(c, '.' | ',' | ';' | ':' | '!' | '?');
            if word.is_some() {
                given += 1;
                return word;
            }
        }
        None
    })
}

/// Byte offsets (normalised text) where a contrast word starts.
pub(super) fn contrasts(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (is_word_char(c), start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                if text.get(s..at).is_some_and(|w| CONTRASTS.contains(&w)) {
                    found.push(s);
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}
