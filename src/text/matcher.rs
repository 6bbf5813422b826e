//! Every phrase of a policy in one Aho-Corasick automaton, found on word boundaries, with suffix wildcards,
//! optional stemming and typo tolerance, sets built from other sets, and proximity ("a word of this set near a
//! word of that set").
//!
//! **Build time.** Each phrase is normalised ([`super::normalize`]) and cut into words and the separators between
//! them. Each word gets a test: exact; a prefix (`diagnos*`); its Snowball stem (sets marked `stem english` or
//! `stem spanish`); or "exact or one slip" (sets marked `typos`, see [`SLIP_MIN_LETTERS`]). The literal start of
//! the phrase, up to and including the first word that is not exact, becomes an automaton pattern: in full for
//! an exact word, and the stem's first letters for a stemmed one (every word with that stem begins with them).
//! A first word that may carry a slip also goes into a slip index, under itself and each of its single-letter
//! deletions. What follows becomes a list of steps checked after a hit. An apostrophe inside a word is optional
//! ("can't" also matches "cant"): each such phrase is added once with and once without it. Cost: linear in the
//! phrases.
//!
//! **Scan time.** The message is normalised once and the automaton reports every occurrence of every pattern,
//! overlapping ones included (so "chest pain" and "pain" both hit). Each is checked in work proportional to the
//! phrase: a word boundary before it, then its steps (a literal, the rest of a wildcard word, a word compared
//! whole, stemmed or within one slip, at most one slip per phrase), then a word boundary after it. The forms a
//! pattern starts are grouped by the steps they begin with, and a group's shared steps are checked once: "can"
//! starts forty phrases, and "can be" fails them all at the apostrophe of "can't". What a check learns about a
//! word of the message (where it ends, its stem, whether it is a real word, whether a negation governs it) is
//! learnt once per scan. Each word of
//! the message is also looked up, with its single-letter deletions, in the slip index: a first word one slip
//! away (and the message's word not itself a real word, [`super::words::is_word`]) starts the same check.
//! Proximities are
//! then found among the hits alone: for each hit of a proximity's first side, the nearest hit of its other side
//! within the allowed number of words and in the same sentence. Cost: one pass over the message plus work
//! proportional to the hits; nothing in a scan grows with the number of phrases.

use std::borrow::Cow;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rust_stemmers::{Algorithm, Stemmer};

use super::negation;
use super::normalize::{Normalized, is_word_char, normalize, unsqueezed};
use super::words;

/// The longest phrase accepted, in bytes after normalisation. Phrases are short by nature; a long one is a
/// pasted paragraph by mistake.
pub const MAX_PHRASE_BYTES: usize = 200;

/// Up to this many distinct patterns the automaton is a DFA; beyond, a contiguous NFA.
pub(super) const DFA_MAX_PATTERNS: usize = 5_000;

/// Letters a wildcard needs before it: `rep*` is accepted, `re*` would match half the language.
pub const MIN_WILDCARD_PREFIX: usize = 3;

/// In a set marked `typos`, a word of at least this many letters also matches with one slip: a letter missing,
/// added or changed, or two neighbouring letters swapped ("sucidal", "refnud").
pub const SLIP_MIN_LETTERS: usize = 5;

/// In a phrase of two or more words, a word of at least this many letters (and fewer than
/// [`SLIP_MIN_LETTERS`]) may have two neighbouring letters swapped ("chest pian"): the other words anchor it.
pub const SWAP_MIN_LETTERS: usize = 4;

/// In a stemmed set, words shorter than this are matched as written.
pub(super) const MIN_STEM_LETTERS: usize = 3;

/// The most words a proximity may allow between its two sides.
pub const MAX_PROXIMITY_WORDS: u32 = 10;

/// The most automaton patterns a policy may compile to. Typo tolerance adds about fifty per letter of a first
/// word; this bound keeps a policy that asks for typos everywhere from taking gigabytes.
pub(super) const MAX_PATTERNS: usize = 2_000_000;

/// Phrases with more optional apostrophes than this are added only with all of them and with none.
const MAX_APOSTROPHE_FORMS: usize = 3;

/// A language with a Snowball stemmer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Language {
    /// English (Porter2).
    English,
    /// Spanish.
    Spanish,
}

impl Language {
    /// The name used in policies.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The stem of a normalised word.
    pub fn stem(self, word: &str) -> String {
        self.stemmer().stem(word).into_owned()
    }

    fn stemmer(self) -> Stemmer {
        Stemmer::create(match self {
            Language::English => Algorithm::English,
            Language::Spanish => Algorithm::Spanish,
        })
    }
}

/// How the words of a phrase set may vary from the way they are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Variation {
    /// Compare words by their stem in this language ("bleeding", "bleeds" and "bled" are one word).
    pub stem: Option<Language>,
    /// Accept one slip per phrase (see [`SLIP_MIN_LETTERS`]).
    pub typos: bool,
}

/// Why a phrase cannot be matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhraseError {
    /// Nothing left after normalisation.
    #[error("it is empty once normalised")]
    Empty,
    /// Over [`MAX_PHRASE_BYTES`].
    #[error("it is {0} bytes long, over the limit of {MAX_PHRASE_BYTES}")]
    TooLong(usize),
    /// A `*` not at the end of a word.
    #[error("`*` may only end a word, as in `diagnos*`")]
    MisplacedWildcard,
    /// A `*` after too few letters.
    #[error("`*` needs at least {MIN_WILDCARD_PREFIX} letters before it")]
    ShortWildcard,
    /// Over `MAX_PATTERNS`.
    #[error("the phrases compile to {0} automaton patterns, over the limit of {1}")]
    TooManyPatterns(usize, usize),
    /// The automaton could not be built.
    #[error("the phrase automaton could not be built: {0}")]
    Build(String),
}

/// One occurrence of a phrase (or of a proximity) in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The phrase set the phrase was written in.
    pub set: u32,
    /// The phrase or proximity, by the order it was added.
    pub phrase: u32,
    /// The bytes of the original message it matched (for a proximity, from the start of its first part to the
    /// end of its second).
    pub span: Range<usize>,
    /// Whether a negation cue governs it ("I don't need an agent").
    pub negated: bool,
    /// For a proximity, the two parts it joined, in message order.
    pub parts: Option<[Range<usize>; 2]>,
}

/// Which sets the hits of one message speak for ([`Matcher::said`]), a hit of a set counting for every set that
/// includes it.
#[derive(Debug, Clone, Default)]
pub struct Said {
    flags: Vec<u8>,
}

impl Said {
    const ANY: u8 = 1;
    const AFFIRMED: u8 = 2;

    /// Whether a hit counts for `set`, negated or not.
    pub fn any(&self, set: u32) -> bool {
        self.flags.get(set as usize).is_some_and(|f| f & Said::ANY != 0)
    }

    /// Whether a hit that is not negated counts for `set`.
    pub fn affirmed(&self, set: u32) -> bool {
        self.flags.get(set as usize).is_some_and(|f| f & Said::AFFIRMED != 0)
    }
}

/// Everything found in one message.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Every occurrence of every phrase: those the automaton found, in order of where they end; then those whose
    /// first word carries a slip; then every proximity.
    pub hits: Vec<Hit>,
    /// The normalised message, kept for questions asked after the scan.
    normalized: Normalized,
}

impl Scan {
    /// Whether a contrast word ("but", "though", "pero") starts after `offset` (original bytes): "this is
    /// frustrating, but you've been great" softens what came before it. Computed on demand: most messages never
    /// need it.
    pub fn contrast_after(&self, offset: usize) -> bool {
        negation::contrasts(&self.normalized.text)
            .into_iter()
            .any(|at| self.normalized.original(at, at + 1).start >= offset)
    }
}

/// How much a word may differ and still be a slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slip {
    None,
    /// Two neighbouring letters swapped.
    Swap,
    /// One letter missing, added or changed, or two neighbouring letters swapped.
    Any,
}

/// How one word of a phrase is compared with a word of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WordTest {
    /// The word as written, normalised.
    word: String,
    /// Its stem, when the set message: of the word as spelled, double letters kept (see [`unsqueezed`]).
    stem: Option<(Language, String)>,
    slip: Slip,
}

impl WordTest {
    fn is_exact(&self) -> bool {
        self.stem.is_none() && self.slip == Slip::None
    }

    /// Whether the message's word at `start..end` of the normalised text is this word. Spends the phrase's one
    /// slip if it takes it.
    fn accepts(
        &self,
        message: &mut MessageWords<'_>,
        start: usize,
        end: usize,
        slip_left: &mut bool,
    ) -> bool {
        let Some(word) = message.norm.text.get(start..end) else { return false };
        if word == self.word {
            return true;
        }
        if let Some((language, stem)) = &self.stem
            && message.has_stem(*language, start, end, stem)
        {
            return true;
        }
        if *slip_left && one_slip(word, &self.word, self.slip) && !message.is_real(start, end) {
            *slip_left = false;
            return true;
        }
        false
    }
}

/// What must follow an automaton pattern for a phrase to match.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// These exact bytes (separators and exact words).
    Literal(String),
    /// The rest of a word whose first letters matched: a `*` wildcard.
    Rest,
    /// The word whose first letters end the pattern, tested whole.
    Started(WordTest),
    /// The next word, tested whole.
    Word(WordTest),
}

/// One way a written phrase can be found: the phrase with or without its optional apostrophes.
#[derive(Debug, Clone)]
struct Form {
    set: u32,
    phrase: u32,
    typos: bool,
    steps: Vec<Step>,
}

/// One phrase form reached by one automaton pattern.
#[derive(Debug, Clone, Copy)]
struct Entry {
    form: u32,
    /// The pattern ends with a one-slip variant of the word in the first `Started` step: that step is passed,
    /// and the phrase's slip is spent.
    slipped: bool,
    /// Bytes of the pattern that belong to the word of the first `Started` step.
    partial: u16,
}

/// Phrase forms reached by one automaton pattern that begin with the same steps, checked once for them all: a
/// common first word ("can", "no", "didn't") starts dozens of phrases, and most messages that have the word
/// fail all of them at the same step.
#[derive(Debug, Clone)]
struct Group {
    /// How many steps every form of the group begins with.
    shared: usize,
    /// The forms, in the order they were added; all alike in `slipped`, `partial` and typo tolerance.
    entries: Vec<Entry>,
}

/// Sorts the entries of one pattern into [`Group`]s, by the first two steps of their forms.
fn groups(entries: Vec<Entry>, forms: &[Form]) -> Vec<Group> {
    let form = |e: &Entry| forms.get(e.form as usize);
    let key =
        |e: &Entry| form(e).map(|f| (e.slipped, e.partial, f.typos, f.steps.get(..f.steps.len().min(2))));
    let mut out: Vec<Group> = Vec::new();
    for entry in entries {
        match out.iter_mut().find(|g| g.entries.first().map(key) == Some(key(&entry))) {
            Some(group) => group.entries.push(entry),
            None => out.push(Group { shared: 0, entries: vec![entry] }),
        }
    }
    for group in &mut out {
        let steps: Vec<&[Step]> = group.entries.iter().filter_map(form).map(|f| f.steps.as_slice()).collect();
        let first = steps.first().copied().unwrap_or_default();
        group.shared =
            (0..first.len()).take_while(|&i| steps.iter().all(|s| s.get(i) == first.get(i))).count();
    }
    out
}

/// "A word of one set near (or before) a word of another", as compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proximity {
    /// The set the proximity belongs to: its hits count for this set.
    pub set: u32,
    /// The set whose hits are its first side.
    pub left: u32,
    /// The set whose hits are its other side.
    pub right: u32,
    /// The most words allowed between the two sides.
    pub within: u32,
    /// Whether `left` must come before `right` (`before`), or either order will do (`near`).
    pub ordered: bool,
}

/// Collects phrases, inclusions and proximities, then builds the [`Matcher`].
#[derive(Debug, Default)]
pub struct MatcherBuilder {
    forms: Vec<Form>,
    patterns: Vec<(String, Entry)>,
    /// First words that may carry a slip, with the phrase form each starts.
    slips: Vec<(String, Slip, Entry)>,
    proximities: Vec<(Proximity, u32)>,
    includes: Vec<(u32, u32)>,
    quiet: Vec<u32>,
    phrases: u32,
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a phrase to a set; returns its index (the `phrase` of its hits).
    pub fn add(&mut self, set: u32, phrase: &str, variation: Variation) -> Result<u32, PhraseError> {
        let normal = checked_normal(phrase)?;
        let spelled = unsqueezed(phrase);
        let index = self.phrases;
        let mut lowered = Vec::new();
        for (text, spelled) in apostrophe_forms(&normal).into_iter().zip(apostrophe_forms(&spelled)) {
            lowered.push(lower(&tokens(&text)?, &spelled_words(&spelled), variation));
        }
        for (patterns, steps, slip) in lowered {
            let form = self.forms.len() as u32;
            self.forms.push(Form { set, phrase: index, typos: variation.typos, steps });
            for (pattern, slipped, partial) in patterns {
                self.patterns.push((pattern, Entry { form, slipped, partial }));
            }
            if let Some((word, slip)) = slip {
                let partial = u16::try_from(word.len()).unwrap_or(u16::MAX);
                self.slips.push((word, slip, Entry { form, slipped: true, partial }));
            }
        }
        self.phrases += 1;
        Ok(index)
    }

    /// Marks a set whose hits only ever serve as a side of a proximity or as part of a set that a rule does not
    /// test: no rule asks whether they are negated, so the scan does not work it out.
    pub fn quiet(&mut self, set: u32) {
        self.quiet.push(set);
    }

    /// Makes every hit of `inner` count for `outer` as well (a set built from other sets).
    pub fn include(&mut self, outer: u32, inner: u32) {
        self.includes.push((outer, inner));
    }

    /// Adds a proximity; returns its index (the `phrase` of its hits).
    pub fn proximity(&mut self, p: Proximity) -> u32 {
        let index = self.phrases;
        self.proximities.push((p, index));
        self.phrases += 1;
        index
    }

    /// Builds one automaton over every phrase.
    pub fn build(self) -> Result<Matcher, PhraseError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut by_pattern: Vec<Vec<Entry>> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (pattern, entry) in self.patterns {
            let slot = match index.get(&pattern) {
                Some(slot) => *slot,
                None => {
                    index.insert(pattern.clone(), patterns.len());
                    patterns.push(pattern);
                    by_pattern.push(Vec::new());
                    by_pattern.len() - 1
                }
            };
            if let Some(list) = by_pattern.get_mut(slot) {
                list.push(entry);
            }
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(PhraseError::TooManyPatterns(patterns.len(), MAX_PATTERNS));
        }
        // A DFA scans fastest (one table lookup per byte) but its size grows with the patterns; above
        // `DFA_MAX_PATTERNS` the contiguous NFA keeps memory and build time linear.
        let kind = if patterns.len() <= DFA_MAX_PATTERNS { Some(AhoCorasickKind::DFA) } else { None };
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&patterns)
            .map_err(|e| PhraseError::Build(e.to_string()))?;

        let sets = self
            .forms
            .iter()
            .map(|f| f.set)
            .chain(self.includes.iter().flat_map(|(a, b)| [*a, *b]))
            .chain(self.proximities.iter().flat_map(|(p, _)| [p.set, p.left, p.right]))
            .max()
            .map_or(0, |m| m as usize + 1);
        let counts_for = closure(sets, &self.includes);
        let mut sides: Vec<Vec<u32>> = vec![Vec::new(); sets];
        for (i, (p, _)) in self.proximities.iter().enumerate() {
            for (set, targets) in counts_for.iter().enumerate() {
                if (targets.contains(&p.left) || targets.contains(&p.right))
                    && let Some(list) = sides.get_mut(set)
                {
                    list.push(i as u32);
                }
            }
        }
        let quiet = (0..sets as u32).map(|s| self.quiet.contains(&s)).collect();
        let slips = SlipIndex::new(self.slips);
        Ok(Matcher {
            automaton,
            by_pattern: by_pattern.into_iter().map(|entries| groups(entries, &self.forms)).collect(),
            slips,
            quiet,
            forms: self.forms,
            proximities: self.proximities,
            counts_for,
            sides,
            phrases: self.phrases,
        })
    }
}

/// For each set, the sorted sets its hits count for: itself and every set that includes it, directly or not.
/// Cycles are the compiler's to report; here they simply end the walk.
fn closure(sets: usize, includes: &[(u32, u32)]) -> Vec<Vec<u32>> {
    (0..sets as u32)
        .map(|start| {
            let mut found = vec![start];
            let mut next = 0;
            while let Some(&set) = found.get(next) {
                for (outer, inner) in includes {
                    if *inner == set && !found.contains(outer) {
                        found.push(*outer);
                    }
                }
                next += 1;
            }
            found.sort_unstable();
            found
        })
        .collect()
}

/// Every phrase of a policy, ready to scan messages.
#[derive(Debug, Clone)]
pub struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, the phrase forms it starts, grouped by the steps they begin with.
    by_pattern: Vec<Vec<Group>>,
    /// First words that may carry a slip.
    slips: SlipIndex,
    forms: Vec<Form>,
    proximities: Vec<(Proximity, u32)>,
    /// For each set, the sets its hits count for (sorted).
    counts_for: Vec<Vec<u32>>,
    /// For each set, the proximities one of whose sides its hits can be.
    sides: Vec<Vec<u32>>,
    /// For each set, whether no rule asks if its hits are negated.
    quiet: Vec<bool>,
    phrases: u32,
}

impl Matcher {
    /// The number of phrases and proximities.
    pub fn len(&self) -> usize {
        self.phrases as usize
    }

    /// The number of automaton patterns (first words and their slips), for benchmarks and `check`.
    pub fn patterns(&self) -> usize {
        self.by_pattern.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.phrases == 0
    }

    fn negation_matters(&self, set: u32) -> bool {
        !self.quiet.get(set as usize).copied().unwrap_or(false)
    }

    /// Whether a hit of set `hit_set` counts for set `set` (it is that set, or `set` includes it).
    pub fn counts_for(&self, hit_set: u32, set: u32) -> bool {
        self.counts_for.get(hit_set as usize).is_some_and(|sets| sets.binary_search(&set).is_ok())
    }

    /// Which sets `hits` speak for, found once per scan so that each condition on a set is a lookup, not a
    /// walk over every hit.
    pub fn said(&self, hits: &[Hit]) -> Said {
        let mut flags = vec![0u8; self.counts_for.len()];
        for hit in hits {
            let flag = if hit.negated { Said::ANY } else { Said::ANY | Said::AFFIRMED };
            for set in self.counts_for.get(hit.set as usize).into_iter().flatten() {
                if let Some(f) = flags.get_mut(*set as usize) {
                    *f |= flag;
                }
            }
        }
        Said { flags }
    }

    /// Finds every occurrence of every phrase in `text`.
    pub fn scan(&self, text: &str) -> Scan {
        let norm = normalize(text);
        let mut message = MessageWords::new(text, &norm);
        let mut hits: Vec<Hit> = Vec::with_capacity(16);
        // Where each hit lies in the normalised text, for proximities.
        let mut at: Vec<Range<usize>> = Vec::new();
        for m in self.automaton.find_overlapping_iter(norm.text.as_str()) {
            let Some(entries) = self.by_pattern.get(m.pattern().as_usize()) else { continue };
            if !boundary_before(&norm.text, m.start()) {
                continue;
            }
            for group in entries {
                // The steps the group's forms share, checked once for them all.
                let Some((first, form)) =
                    group.entries.first().and_then(|e| Some((*e, self.forms.get(e.form as usize)?)))
                else {
                    continue;
                };
                let start = Progress::new(m.end(), first, form);
                let Some(shared) =
                    advance(&mut message, start, first, form.steps.get(..group.shared).unwrap_or_default())
                else {
                    continue;
                };
                for entry in &group.entries {
                    let Some(form) = self.forms.get(entry.form as usize) else { continue };
                    let rest = form.steps.get(group.shared..).unwrap_or_default();
                    let Some(end) =
                        advance(&mut message, shared, *entry, rest).and_then(|p| finish(&norm.text, p))
                    else {
                        continue;
                    };
                    self.record(&mut hits, &mut at, &mut message, form, m.start()..end);
                }
            }
        }
        if !self.slips.is_empty() {
            for word in 0..message.spans.len() {
                let Some(&(start, end)) = message.spans.get(word) else { continue };
                for entry in self.slips.find(&mut message, start, end) {
                    let Some(form) = self.forms.get(entry.form as usize) else { continue };
                    let Some(stop) = verify(&mut message, end, entry, form) else { continue };
                    self.record(&mut hits, &mut at, &mut message, form, start..stop);
                }
            }
        }
        if !self.proximities.is_empty() && !hits.is_empty() {
            self.near(text, &norm, &mut hits, &at);
        }
        Scan { hits, normalized: norm }
    }

    /// Records that `form` matched `found` (normalised bytes): once, since a phrase found twice at one place (by
    /// its stem and by a slip, say) is one hit; with where it lies when proximities need it.
    fn record(
        &self,
        hits: &mut Vec<Hit>,
        at: &mut Vec<Range<usize>>,
        message: &mut MessageWords<'_>,
        form: &Form,
        found: Range<usize>,
    ) {
        let span = message.norm.original(found.start, found.end);
        if hits.iter().any(|h| h.phrase == form.phrase && h.span == span) {
            return;
        }
        let negated = self.negation_matters(form.set) && message.negated(found.start);
        hits.push(Hit { set: form.set, phrase: form.phrase, span, negated, parts: None });
        if !self.proximities.is_empty() {
            at.push(found);
        }
    }

    /// Adds a hit for every proximity whose two sides are among the hits.
    fn near(&self, original: &str, norm: &Normalized, hits: &mut Vec<Hit>, at: &[Range<usize>]) {
        // A proximity is worth pairing only if both its sides have a hit: most messages hit a common word of
        // one side ("my", "to") and nothing of the other.
        let said = self.said(hits);
        let mut candidates: Vec<u32> = hits
            .iter()
            .filter_map(|h| self.sides.get(h.set as usize))
            .flatten()
            .copied()
            .filter(|&p| {
                self.proximities
                    .get(p as usize)
                    .is_some_and(|(prox, _)| said.any(prox.left) && said.any(prox.right))
            })
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let atoms = hits.len();
        // The hits of each side, found once per proximity: the pairing below is then over the few hits of the
        // two sides, not over every hit twice.
        let mut lefts: Vec<usize> = Vec::new();
        let mut rights: Vec<usize> = Vec::new();
        for p in candidates {
            let Some((prox, phrase)) = self.proximities.get(p as usize) else { continue };
            lefts.clear();
            rights.clear();
            for (i, h) in hits.iter().take(atoms).enumerate() {
                if self.counts_for(h.set, prox.left) {
                    lefts.push(i);
                }
                if self.counts_for(h.set, prox.right) {
                    rights.push(i);
                }
            }
            for &i in &lefts {
                let mut best: Option<(usize, usize, usize)> = None;
                for &j in &rights {
                    if i == j {
                        continue;
                    }
                    let (Some(ra), Some(rb)) = (at.get(i), at.get(j)) else { continue };
                    let (first, second, rf, rs) =
                        if ra.start <= rb.start { (i, j, ra, rb) } else { (j, i, rb, ra) };
                    if (prox.ordered && first != i) || rf.end > rs.start {
                        continue;
                    }
                    let Some(gap) = words_between(&norm.text, rf.end, rs.start, prox.within) else {
                        continue;
                    };
                    let (Some(hf), Some(hs)) = (hits.get(first), hits.get(second)) else { continue };
                    if crosses_sentence(original.get(hf.span.end..hs.span.start).unwrap_or("")) {
                        continue;
                    }
                    if best.is_none_or(|(g, _, _)| gap < g) {
                        best = Some((gap, first, second));
                    }
                }
                let Some((_, first, second)) = best else { continue };
                let (Some(hf), Some(hs), Some(rf)) = (hits.get(first), hits.get(second), at.get(first))
                else {
                    continue;
                };
                let span = hf.span.start..hs.span.end;
                if hits.iter().any(|h| h.phrase == *phrase && h.span == span) {
                    continue;
                }
                let hit = Hit {
                    set: prox.set,
                    phrase: *phrase,
                    negated: self.negation_matters(prox.set) && negation::negated(&norm.text, rf.start),
                    parts: Some([hf.span.clone(), hs.span.clone()]),
                    span,
                };
                hits.push(hit);
            }
        }
    }

    /// The normalised form of a text (for explanations and tests).
    pub fn normalized(text: &str) -> Normalized {
        normalize(text)
    }
}

/// The first words of phrases that may carry a slip, found by their single-letter deletions (the symmetric
/// deletion method): a message's word and a phrase's word one slip apart always share the word itself or one of
/// its deletions, so each word of a message costs a handful of hash lookups, whatever the number of phrases,
/// and the automaton holds no variants.
#[derive(Debug, Clone, Default)]
struct SlipIndex {
    /// The words, each with its slip allowance and the phrase forms it starts.
    words: Vec<(String, Slip, Vec<Entry>)>,
    /// Each word and each of its single-letter deletions, to the words it came from.
    keys: rustc_hash::FxHashMap<String, Vec<u32>>,
}

impl SlipIndex {
    fn new(slips: Vec<(String, Slip, Entry)>) -> Self {
        let mut index = SlipIndex::default();
        for (word, slip, entry) in slips {
            let at = match index.words.iter().position(|(w, s, _)| *w == word && *s == slip) {
                Some(at) => at,
                None => {
                    for key in deletions(&word).into_iter().chain(std::iter::once(word.clone())) {
                        let list = index.keys.entry(key).or_default();
                        if !list.contains(&(index.words.len() as u32)) {
                            list.push(index.words.len() as u32);
                        }
                    }
                    index.words.push((word, slip, Vec::new()));
                    index.words.len() - 1
                }
            };
            if let Some((_, _, entries)) = index.words.get_mut(at) {
                entries.push(entry);
            }
        }
        index
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The phrase forms whose first word is one slip from the message's word at `start..end` (and that word is
    /// not itself a real word).
    fn find(&self, message: &mut MessageWords<'_>, start: usize, end: usize) -> Vec<Entry> {
        let Some(word) = message.norm.text.get(start..end) else { return Vec::new() };
        // A real word is never a slip, and most words of a message are real: one lookup settles them.
        if word.chars().count() < SWAP_MIN_LETTERS || message.is_real(start, end) {
            return Vec::new();
        }
        let mut found: Vec<u32> = Vec::new();
        let mut key = String::with_capacity(word.len());
        let look = |key: &str, found: &mut Vec<u32>| {
            for id in self.keys.get(key).into_iter().flatten() {
                if !found.contains(id) {
                    found.push(*id);
                }
            }
        };
        look(word, &mut found);
        for (i, c) in word.char_indices() {
            key.clear();
            key.push_str(word.get(..i).unwrap_or(""));
            key.push_str(word.get(i + c.len_utf8()..).unwrap_or(""));
            look(&key, &mut found);
        }
        let mut entries = Vec::new();
        for id in found {
            let Some((written, slip, forms)) = self.words.get(id as usize) else { continue };
            if written == word || !one_slip(word, written, *slip) {
                continue;
            }
            entries.extend(
                forms.iter().map(|e| Entry { partial: u16::try_from(word.len()).unwrap_or(u16::MAX), ..*e }),
            );
        }
        entries
    }
}

/// A word and each of its single-letter deletions' strings.
fn deletions(word: &str) -> Vec<String> {
    word.char_indices()
        .map(|(i, c)| {
            format!("{}{}", word.get(..i).unwrap_or(""), word.get(i + c.len_utf8()..).unwrap_or(""))
        })
        .collect()
}

/// The words of a normalised text, as byte ranges.
fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = rest.peek() {
            if is_word_char(c) {
                break;
            }
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(at, c)) = rest.peek() {
            if !is_word_char(c) {
                break;
            }
            end = at + c.len_utf8();
            rest.next();
        }
        Some((start, end))
    })
}

/// What a scan learns about each word of the message, learnt once however many phrases ask: where it ends,
/// whether it is a real word (a real word is never a slip), and its stem in each language. A common first word
/// ("can", "my") starts dozens of phrases, and each would otherwise look the same word up again.
struct MessageWords<'a> {
    original: &'a str,
    norm: &'a Normalized,
    /// Every word of the normalised text, as byte ranges, in order.
    spans: Vec<(usize, usize)>,
    /// For each word: whether it is a real word, once asked.
    real: Vec<Option<bool>>,
    /// For each word: its stem in English and in Spanish, once asked.
    stems: Vec<[Option<Cow<'static, str>>; 2]>,
    /// Places whose negation was asked, with the answer.
    negations: Vec<(usize, bool)>,
}

impl<'a> MessageWords<'a> {
    fn new(original: &'a str, norm: &'a Normalized) -> Self {
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(norm.text.len() / 4 + 1);
        spans.extend(words(&norm.text));
        let count = spans.len();
        MessageWords {
            original,
            norm,
            spans,
            real: vec![None; count],
            stems: vec![[None, None]; count],
            negations: Vec::new(),
        }
    }

    /// Where the word characters running from `at` end: `at` itself if none does.
    fn word_end(&self, at: usize) -> usize {
        let next = self.spans.partition_point(|(start, _)| *start <= at);
        match next.checked_sub(1).and_then(|i| self.spans.get(i)) {
            Some(&(_, end)) if at < end => end,
            _ => at,
        }
    }

    /// Whether a negation cue governs what starts at `start`, worked out once per place: several phrases
    /// often start at one word.
    fn negated(&mut self, start: usize) -> bool {
        if let Some(&(_, known)) = self.negations.iter().find(|(at, _)| *at == start) {
            return known;
        }
        let found = negation::negated(&self.norm.text, start);
        self.negations.push((start, found));
        found
    }

    /// The index of the word that starts at `start` and ends at `end`.
    fn index(&self, start: usize, end: usize) -> Option<usize> {
        let at = self.spans.binary_search_by_key(&start, |(s, _)| *s).ok()?;
        (self.spans.get(at)?.1 == end).then_some(at)
    }

    /// Whether the word at `start..end` of the normalised text is a real word.
    fn is_real(&mut self, start: usize, end: usize) -> bool {
        let word = self.norm.text.get(start..end).unwrap_or("");
        let Some(at) = self.index(start, end) else { return words::is_word(word) };
        *self.real.get_mut(at).map_or(&mut None, |r| r).get_or_insert_with(|| words::is_word(word))
    }

    /// Whether the word at `start..end` of the normalised text has this stem.
    fn has_stem(&mut self, language: Language, start: usize, end: usize, stem: &str) -> bool {
        let slot = usize::from(language == Language::Spanish);
        let Some(at) = self.index(start, end) else { return self.stem_of(language, start, end) == stem };
        if let Some(known) = self.stems.get(at).and_then(|s| s.get(slot)).and_then(Option::as_ref) {
            return known == stem;
        }
        let found = self.stem_of(language, start, end);
        let same = found == stem;
        if let Some(cell) = self.stems.get_mut(at).and_then(|s| s.get_mut(slot)) {
            *cell = Some(found);
        }
        same
    }

    /// The stem of a word, looked up when the word is listed (most are) and computed from its spelling
    /// otherwise (misspellings, names).
    fn stem_of(&self, language: Language, start: usize, end: usize) -> Cow<'static, str> {
        if let Some(stem) = self.norm.text.get(start..end).and_then(|w| words::known_stem(language, w)) {
            return Cow::Borrowed(stem);
        }
        let spelled = unsqueezed(self.original.get(self.norm.original(start, end)).unwrap_or(""));
        Cow::Owned(language.stem(&spelled))
    }
}

/// How far the check of one phrase form has come.
#[derive(Debug, Clone, Copy)]
struct Progress {
    /// The byte of the normalised text the next step starts at.
    at: usize,
    /// Whether the phrase's one slip is still unspent.
    slip_left: bool,
    /// Whether the `Started` step is passed.
    started: bool,
}

impl Progress {
    /// Where the check of `entry` (a form of `form`) starts: right after its pattern, which ended at `at`.
    fn new(at: usize, entry: Entry, form: &Form) -> Self {
        Progress { at, slip_left: form.typos && !entry.slipped, started: false }
    }
}

/// Checks what follows a pattern that matched up to `at` in the normalised text. Returns where the phrase ends in
/// the normalised text.
fn verify(message: &mut MessageWords<'_>, at: usize, entry: Entry, form: &Form) -> Option<usize> {
    advance(message, Progress::new(at, entry, form), entry, &form.steps)
        .and_then(|p| finish(&message.norm.text, p))
}

/// Checks `steps` of a phrase form from `progress` on.
fn advance(
    message: &mut MessageWords<'_>,
    progress: Progress,
    entry: Entry,
    steps: &[Step],
) -> Option<Progress> {
    let text = message.norm.text.as_str();
    let Progress { mut at, mut slip_left, mut started } = progress;
    for step in steps {
        match step {
            Step::Literal(s) => {
                if !text.get(at..)?.starts_with(s.as_str()) {
                    return None;
                }
                at += s.len();
            }
            Step::Rest => at = message.word_end(at),
            Step::Started(test) => {
                if started {
                    return None;
                }
                started = true;
                if entry.slipped {
                    // The pattern was a slip of this word, whole.
                    if !boundary_after(text, at) {
                        return None;
                    }
                    continue;
                }
                let start = at.checked_sub(usize::from(entry.partial))?;
                let end = message.word_end(at);
                if !test.accepts(message, start, end, &mut slip_left) {
                    return None;
                }
                at = end;
            }
            Step::Word(test) => {
                let end = message.word_end(at);
                if end == at || !test.accepts(message, at, end, &mut slip_left) {
                    return None;
                }
                at = end;
            }
        }
    }
    Some(Progress { at, slip_left, started })
}

/// Where a phrase whose steps all passed ends, if it ends on a word boundary.
fn finish(text: &str, progress: Progress) -> Option<usize> {
    let at = progress.at;
    let ends_in_word = text.get(..at).and_then(|s| s.chars().next_back()).is_some_and(is_word_char);
    if ends_in_word && !boundary_after(text, at) {
        return None;
    }
    Some(at)
}

/// The number of words in `text[from..to]`, or `None` if there are more than `max`.
fn words_between(text: &str, from: usize, to: usize, max: u32) -> Option<usize> {
    let gap = text.get(from..to)?;
    let mut count = 0usize;
    let mut in_word = false;
    for c in gap.chars() {
        let word = is_word_char(c);
        if word && !in_word {
            count += 1;
            if count > max as usize {
                return None;
            }
        }
        in_word = word;
    }
    Some(count)
}

/// Whether original text between two parts of a proximity ends a sentence: `! ? ;`, a line break, Spanish
/// opening marks, or a full stop followed by space (not one inside "2.5" or an ellipsis).
fn crosses_sentence(gap: &str) -> bool {
    let mut chars = gap.chars().peekable();
    let mut previous = None;
    while let Some(c) = chars.next() {
        match c {
            '!' | '?' | ';' | '\n' | '\r' | '¡' | '¿' | '。' => return true,
            '.' if previous != Some('.') && chars.peek().is_none_or(|n| n.is_whitespace()) => return true,
            _ => {}
        }
        previous = Some(c);
    }
    false
}

/// Whether `word` is one slip away from `written` (both normalised, neither with doubled letters).
fn one_slip(word: &str, written: &str, slip: Slip) -> bool {
    // Checked on every candidate word of every slip-tolerant phrase, so it allocates nothing and rejects
    // words of very different lengths at once (a character is at most four bytes).
    if slip == Slip::None || word.len().abs_diff(written.len()) > 4 {
        return false;
    }
    let same: usize =
        word.chars().zip(written.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (ra, rb) = (word.get(same..).unwrap_or(""), written.get(same..).unwrap_or(""));
    let (mut ca, mut cb) = (ra.chars(), rb.chars());
    let (a0, a1, b0, b1) = (ca.next(), ca.next(), cb.next(), cb.next());
    let swapped =
        a0.is_some() && a1.is_some() && a0 == b1 && a1 == b0 && after_chars(ra, 2) == after_chars(rb, 2);
    if slip == Slip::Swap {
        return swapped;
    }
    swapped
        || (a0.is_some() && b0.is_some() && after_chars(ra, 1) == after_chars(rb, 1))
        || (b0.is_some() && ra == after_chars(rb, 1))
        || (a0.is_some() && after_chars(ra, 1) == rb)
}

/// What follows the first `n` characters of `s`.
fn after_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or("", |(i, _)| s.get(i..).unwrap_or(""))
}

/// The first letters (normalised) every word with this stem begins with: the stem itself, or the stem without its
/// last letter when that letter is one Snowball writes in place of another (`happy` -> `happi`, `hoping` ->
/// `hope`, `capability` -> `capabl`, Spanish `-encia` -> `-ent`: i, e, l, y, t), and "dying", "lying" and
/// "tying", whose message end in "ie". Checked on the Snowball project's English and Spanish vocabularies (29,417
/// and 28,390 words): every word begins with one of its stem's anchors. Longer anchors mean fewer words stemmed
/// per message.
fn stem_anchors(stem: &str) -> Vec<String> {
    let mut anchors = Vec::new();
    if let Some(base) = stem.strip_suffix("ie").filter(|b| !b.is_empty()) {
        anchors.push(normalize(&format!("{base}y")).text);
    }
    let mut chars: Vec<char> = normalize(stem).text.chars().collect();
    if chars.len() >= 3 && chars.last().is_some_and(|c| "ielyt".contains(*c)) {
        chars.pop();
    }
    anchors.push(chars.into_iter().collect());
    anchors
}

/// The words of a phrase as spelled (see [`unsqueezed`]), in order, for stemming.
fn spelled_words(spelled: &str) -> Vec<String> {
    spelled.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// A piece of a normalised phrase.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of word characters; `wild` if a `*` ends it.
    Word { text: String, wild: bool },
    /// What lies between two words (spaces, apostrophes, punctuation).
    Sep(String),
}

fn checked_normal(phrase: &str) -> Result<String, PhraseError> {
    let normal = normalize(phrase).text;
    let normal = normal.trim();
    if normal.is_empty() {
        return Err(PhraseError::Empty);
    }
    if normal.len() > MAX_PHRASE_BYTES {
        return Err(PhraseError::TooLong(normal.len()));
    }
    Ok(normal.to_string())
}

/// Cuts a normalised phrase into words and separators, checking its wildcards.
fn tokens(normal: &str) -> Result<Vec<Token>, PhraseError> {
    let mut out = Vec::new();
    let mut chars = normal.chars().peekable();
    while let Some(&c) = chars.peek() {
        if is_word_char(c) {
            let mut text = String::new();
            while let Some(&c) = chars.peek().filter(|c| is_word_char(**c)) {
                text.push(c);
                chars.next();
            }
            let wild = chars.peek() == Some(&'*');
            if wild {
                chars.next();
                if chars.peek().is_some_and(|n| *n != ' ') {
                    return Err(PhraseError::MisplacedWildcard);
                }
                if text.chars().count() < MIN_WILDCARD_PREFIX {
                    return Err(PhraseError::ShortWildcard);
                }
            }
            out.push(Token::Word { text, wild });
        } else if c == '*' {
            return Err(PhraseError::MisplacedWildcard);
        } else {
            let mut text = String::new();
            while let Some(&c) = chars.peek().filter(|c| !is_word_char(**c) && **c != '*') {
                text.push(c);
                chars.next();
            }
            out.push(Token::Sep(text));
        }
    }
    if !out.iter().any(|t| matches!(t, Token::Word { .. })) {
        return Err(PhraseError::Empty);
    }
    Ok(out)
}

/// The phrase as written, and without the apostrophes inside its words ("can't" and "cant").
fn apostrophe_forms(normal: &str) -> Vec<String> {
    let chars: Vec<char> = normal.chars().collect();
    let optional: Vec<usize> = (1..chars.len().saturating_sub(1))
        .filter(|&i| {
            chars.get(i) == Some(&'\'')
                && chars.get(i - 1).copied().is_some_and(is_word_char)
                && chars.get(i + 1).copied().is_some_and(is_word_char)
        })
        .collect();
    let masks: Vec<u32> = if optional.len() <= MAX_APOSTROPHE_FORMS {
        (0..1u32 << optional.len()).collect()
    } else {
        vec![0, u32::MAX]
    };
    masks
        .into_iter()
        .map(|mask| {
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    optional.iter().position(|o| o == i).is_none_or(|bit| mask & (1u32 << bit) == 0)
                })
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

/// The test for one word of a phrase (`spelled`: the word with its double letters, for the stemmer).
fn word_test(word: &str, spelled: Option<&String>, variation: Variation, words_in_phrase: usize) -> WordTest {
    let letters = word.chars().count();
    let alphabetic = word.chars().all(char::is_alphabetic);
    let slip = if !variation.typos || !alphabetic {
        Slip::None
    } else if letters >= SLIP_MIN_LETTERS {
        Slip::Any
    } else if letters >= SWAP_MIN_LETTERS && words_in_phrase > 1 {
        Slip::Swap
    } else {
        Slip::None
    };
    // Words under three letters are matched as written: their inflections are few and irregular ("be", "is"),
    // and stemming them would make every short word of a message a candidate.
    let stem = variation
        .stem
        .filter(|_| alphabetic && letters >= MIN_STEM_LETTERS)
        .map(|language| (language, language.stem(spelled.map_or(word, String::as_str))));
    WordTest { word: word.to_string(), stem, slip }
}

/// The automaton patterns of a phrase (with, for each, whether it is a slip and how many of its bytes belong to
/// the first `Started` word), and the steps that follow them.
type Lowered = (Vec<(String, bool, u16)>, Vec<Step>, Option<(String, Slip)>);

fn lower(tokens: &[Token], spelled: &[String], variation: Variation) -> Lowered {
    let words_in_phrase = tokens.iter().filter(|t| matches!(t, Token::Word { .. })).count();
    let mut spelled = spelled.iter();
    let mut literal = String::new();
    let mut patterns = Vec::new();
    let mut steps = Vec::new();
    let mut slip = None;
    let mut rest = tokens.iter();
    // The literal start, through the first word that is not exact.
    for token in rest.by_ref() {
        match token {
            Token::Sep(s) => literal.push_str(s),
            Token::Word { text, wild: true } => {
                spelled.next();
                literal.push_str(text);
                steps.push(Step::Rest);
                break;
            }
            Token::Word { text, wild: false } => {
                let test = word_test(text, spelled.next(), variation, words_in_phrase);
                if test.is_exact() {
                    literal.push_str(text);
                    continue;
                }
                if !literal.is_empty() && test.stem.is_none() {
                    // After an exact start ("don't want"), the automaton finds the start and the slip is checked
                    // on the word that follows: one pattern, not one per slip of the word.
                    steps.push(Step::Word(test));
                    break;
                }
                let partial = |s: &str| u16::try_from(s.len()).unwrap_or(u16::MAX);
                match &test.stem {
                    Some((_, stem)) => {
                        for anchor in stem_anchors(stem) {
                            patterns.push((format!("{literal}{anchor}"), false, partial(&anchor)));
                        }
                    }
                    None => patterns.push((format!("{literal}{text}"), false, partial(text))),
                }
                // Slips of a first word are found by the slip index (see `Matcher::slips`), not by patterns.
                if test.slip != Slip::None {
                    slip = Some((text.clone(), test.slip));
                }
                steps.push(Step::Started(test));
                break;
            }
        }
    }
    if patterns.is_empty() {
        patterns.push((literal, false, 0));
    }
    // The remaining tokens, as steps.
    let mut pending = String::new();
    for token in rest {
        match token {
            Token::Sep(s) => pending.push_str(s),
            Token::Word { text, wild: true } => {
                spelled.next();
                pending.push_str(text);
                steps.push(Step::Literal(std::mem::take(&mut pending)));
                steps.push(Step::Rest);
            }
            Token::Word { text, wild: false } => {
                let test = word_test(text, spelled.next(), variation, words_in_phrase);
                if test.is_exact() {
                    pending.push_str(text);
                } else {
                    if !pending.is_empty() {
                        steps.push(Step::Literal(std::mem::take(&mut pending)));
                    }
                    steps.push(Step::Word(test));
                }
            }
        }
    }
    if !pending.is_empty() {
        steps.push(Step::Literal(pending));
    }
    (patterns, steps, slip)
}

fn boundary_before(text: &str, at: usize) -> bool {
    text.get(..at).and_then(|s| s.chars().next_back()).is_none_or(|c| !is_word_char(c))
}

fn boundary_after(text: &str, at: usize) -> bool {
    text.get(at..).and_then(|s| s.chars().next()).is_none_or(|c| !is_word_char(c))
}

/// A phrase in normalised form, wildcards kept: how the compiler compares phrases for duplicates.
pub fn normalize_phrase(phrase: &str) -> Result<String, PhraseError> {
    let normal = checked_normal(phrase)?;
    tokens(&normal).map(|tokens| {
        tokens
            .iter()
            .map(|t| match t {
                Token::Word { text, wild: true } => format!("{text}*"),
                Token::Word { text, .. } | Token::Sep(text) => text.clone(),
            })
            .collect()
    })
}

/// How a phrase is compared with messages, word by word, for `handrail check --phrases`: its normalised words,
/// each with its stem and slip allowance under the set's variation.
pub fn describe_phrase(phrase: &str, variation: Variation) -> Result<String, PhraseError> {
    let normal = checked_normal(phrase)?;
    let tokens = tokens(&normal)?;
    let words_in_phrase = tokens.iter().filter(|t| matches!(t, Token::Word { .. })).count();
    let spelled = spelled_words(&unsqueezed(phrase));
    let mut spelled = spelled.iter();
    let mut out = String::new();
    for token in &tokens {
        match token {
            Token::Sep(s) => out.push_str(s),
            Token::Word { text, wild: true } => {
                spelled.next();
                out.push_str(text);
                out.push('*');
            }
            Token::Word { text, wild: false } => {
                let test = word_test(text, spelled.next(), variation, words_in_phrase);
                out.push_str(text);
                let mut notes = Vec::new();
                if let Some((_, stem)) = &test.stem {
                    notes.push(format!("stem {stem}"));
                }
                match test.slip {
                    Slip::Any => notes.push("one slip".into()),
                    Slip::Swap => notes.push("swap".into()),
                    Slip::None => {}
                }
                if !notes.is_empty() {
                    out.push_str(&format!("[{}]", notes.join(", ")));
                }
            }
        }
    }
    Ok(out)
}

/// Whether `other` (a phrase) would be matched by `phrase` under `variation` only through a slip: same words
/// but one, and that one within the slip the phrase allows. The compiler warns when this joins two tiers.
pub fn slip_collides(phrase: &str, variation: Variation, other: &str) -> bool {
    if !variation.typos {
        return false;
    }
    let (Ok(a), Ok(b)) = (checked_normal(phrase), checked_normal(other)) else { return false };
    let (Ok(ta), Ok(tb)) = (tokens(&a), tokens(&b)) else { return false };
    if ta.len() != tb.len() || ta == tb {
        return false;
    }
    let words_in_phrase = ta.iter().filter(|t| matches!(t, Token::Word { .. })).count();
    let mut slips = 0;
    for (x, y) in ta.iter().zip(&tb) {
        match (x, y) {
            (Token::Word { text: wx, wild: false }, Token::Word { text: wy, wild: false }) if wx != wy => {
                let test = word_test(wx, None, variation, words_in_phrase);
                if !one_slip(wy, wx, test.slip) || words::is_word(wy) {
                    return false;
                }
                slips += 1;
            }
            _ if x == y => {}
            _ => return false,
        }
    }
    slips == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Variation = Variation { stem: None, typos: false };
    const TYPOS: Variation = Variation { stem: None, typos: true };

    fn matcher_with(phrases: &[(u32, &str)], variation: Variation) -> Matcher {
        let mut b = MatcherBuilder::new();
        for (set, p) in phrases {
            b.add(*set, p, variation).unwrap();
        }
        b.build().unwrap()
    }

    fn matcher(phrases: &[(u32, &str)]) -> Matcher {
        matcher_with(phrases, PLAIN)
    }

    fn found<'a>(m: &Matcher, text: &'a str) -> Vec<&'a str> {
        m.scan(text).hits.iter().map(|h| &text[h.span.clone()]).collect()
    }

    #[test]
    fn matches_on_word_boundaries_only() {
        let m = matcher(&[(0, "agent")]);
        assert_eq!(found(&m, "I need an agent."), vec!["agent"]);
        assert!(found(&m, "a reagent").is_empty());
        assert!(found(&m, "agents").is_empty());
        assert!(found(&m, "agentive").is_empty());
        assert_eq!(found(&m, "the agent's desk"), vec!["agent"]);
    }

    #[test]
    fn reports_overlapping_phrases_and_shared_phrases() {
        let m = matcher(&[(0, "chest pain"), (1, "pain"), (2, "pain")]);
        let hits = m.scan("I have chest pain").hits;
        let sets: Vec<u32> = hits.iter().map(|h| h.set).collect();
        assert_eq!(sets, vec![0, 1, 2]);
    }

    #[test]
    fn suffix_wildcards() {
        let m = matcher(&[(0, "diagnos*"), (1, "cancel* my subscription*")]);
        assert_eq!(found(&m, "was I diagnosed?"), vec!["diagnosed"]);
        assert_eq!(found(&m, "a diagnosis"), vec!["diagnosis"]);
        assert_eq!(found(&m, "cancelling my subscriptions now"), vec!["cancelling my subscriptions"]);
        assert!(found(&m, "undiagnosed").is_empty());
    }

    #[test]
    fn bad_wildcards_are_refused() {
        let mut b = MatcherBuilder::new();
        assert_eq!(b.add(0, "*ing", PLAIN), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "a*b", PLAIN), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "*", PLAIN), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "re*", PLAIN), Err(PhraseError::ShortWildcard));
        assert_eq!(b.add(0, "   ", PLAIN), Err(PhraseError::Empty));
        assert!(matches!(b.add(0, &"ab".repeat(150), PLAIN), Err(PhraseError::TooLong(_))));
    }

    #[test]
    fn stretched_and_styled_text_matches_with_original_spans() {
        let m = matcher(&[(0, "agent"), (1, "help"), (2, "don't")]);
        assert_eq!(found(&m, "I need an AGENNNT now"), vec!["AGENNNT"]);
        assert_eq!(found(&m, "HEEELP"), vec!["HEEELP"]);
        assert_eq!(found(&m, "ＡＧＥＮＴ please"), vec!["ＡＧＥＮＴ"]);
        assert_eq!(found(&m, "I don\u{2019}t know"), vec!["don\u{2019}t"]);
    }

    #[test]
    fn accents_fold_on_both_sides() {
        let m = matcher(&[(0, "ataque al corazón"), (1, "me envenene")]);
        assert_eq!(found(&m, "creo que es un ataque al corazon"), vec!["ataque al corazon"]);
        assert_eq!(found(&m, "ATAQUE AL CORAZÓN"), vec!["ATAQUE AL CORAZÓN"]);
        assert_eq!(found(&m, "me envenené"), vec!["me envenené"]);
    }

    #[test]
    fn apostrophes_inside_a_word_are_optional() {
        let m = matcher(&[(0, "can't breathe"), (1, "i'm bleeding")]);
        assert_eq!(found(&m, "i cant breathe"), vec!["cant breathe"]);
        assert_eq!(found(&m, "I can\u{2019}t breathe"), vec!["can\u{2019}t breathe"]);
        assert_eq!(found(&m, "im bleeding"), vec!["im bleeding"]);
        // Only the phrase's apostrophes are optional: "ill" does not match "i'll".
        let m = matcher(&[(0, "ill")]);
        assert!(found(&m, "i'll call you").is_empty());
    }

    #[test]
    fn one_slip_per_phrase_in_long_enough_words() {
        let m =
            matcher_with(&[(0, "suicidal"), (1, "refund"), (2, "chest pain"), (3, "heart attack")], TYPOS);
        assert_eq!(found(&m, "i feel sucidal"), vec!["sucidal"]);
        assert_eq!(found(&m, "I want a refnud"), vec!["refnud"]);
        assert_eq!(found(&m, "bad chest pian"), vec!["chest pian"]);
        assert_eq!(found(&m, "chset pain"), vec!["chset pain"]);
        assert_eq!(found(&m, "a haert attack"), vec!["haert attack"]);
        // "hart" is a word (a deer), so it is not a slip of "heart".
        assert!(found(&m, "a hart attack").is_empty());
        // One slip per phrase, not one per word.
        assert!(found(&m, "chset pian").is_empty());
        // A four-letter word only swaps; a short single word never slips.
        assert!(found(&m, "chest pan").is_empty());
        // A slip that makes another real word is that word.
        let m = matcher_with(&[(0, "stroke"), (1, "choking")], TYPOS);
        assert!(found(&m, "we are on strike").is_empty());
        assert!(found(&m, "I'm cooking dinner").is_empty());
        assert_eq!(found(&m, "my dad had a strokee"), vec!["strokee"]);
        assert_eq!(found(&m, "he is chocking"), vec!["chocking"]);
    }

    #[test]
    fn slips_are_off_unless_asked_for() {
        let m = matcher(&[(0, "suicidal")]);
        assert!(found(&m, "sucidal").is_empty());
    }

    #[test]
    fn stems_match_inflections() {
        let english = Variation { stem: Some(Language::English), typos: false };
        let m = matcher_with(&[(0, "bleeding heavily"), (1, "hurt"), (2, "overdose"), (3, "die")], english);
        assert_eq!(found(&m, "it bleeds heavily"), vec!["bleeds heavily"]);
        // A stemmer strips suffixes; irregular forms ("bled") are words of their own.
        assert!(found(&m, "he bled heavily").is_empty());
        assert_eq!(found(&m, "it hurts a lot"), vec!["hurts"]);
        assert_eq!(found(&m, "I am dying"), vec!["dying"]);
        assert_eq!(found(&m, "she overdosed"), vec!["overdosed"]);
        assert!(found(&m, "bleeding hearts").is_empty());
        let spanish = Variation { stem: Some(Language::Spanish), typos: false };
        let m = matcher_with(&[(0, "sangrado"), (1, "desmayarse")], spanish);
        assert_eq!(found(&m, "mucho sangrado"), vec!["sangrado"]);
        assert_eq!(found(&m, "se desmayó"), vec!["desmayó"]);
    }

    #[test]
    fn stem_anchors_begin_every_inflection() {
        let inflections: &[(&str, &[&str])] = &[
            ("happy", &["happier", "happiest", "happily", "happiness"]),
            ("bleed", &["bleeding", "bleeds"]),
            ("hope", &["hoping", "hoped", "hopes"]),
            ("cry", &["cries", "crying", "cried"]),
            ("die", &["dying", "died", "dies"]),
            ("capable", &["capability", "capabilities"]),
            ("ability", &["abilities"]),
            ("urgencia", &["urgente", "urgencias"]),
        ];
        for (base, forms) in inflections {
            for form in forms.iter().chain(std::iter::once(base)) {
                let language = if base.ends_with('a') { Language::Spanish } else { Language::English };
                let stem = language.stem(&normalize(form).text);
                let anchors = stem_anchors(&stem);
                assert!(
                    anchors.iter().any(|a| normalize(form).text.starts_with(a.as_str())),
                    "{form}: stem {stem}, anchors {anchors:?}"
                );
            }
        }
    }

    #[test]
    fn sets_count_for_the_sets_that_include_them() {
        let mut b = MatcherBuilder::new();
        b.add(0, "nurse", PLAIN).unwrap();
        b.add(1, "agent", PLAIN).unwrap();
        b.include(2, 0);
        b.include(2, 1);
        b.include(3, 2);
        let m = b.build().unwrap();
        let hit = &m.scan("a nurse please").hits[0];
        assert!(m.counts_for(hit.set, 0) && m.counts_for(hit.set, 2) && m.counts_for(hit.set, 3));
        assert!(!m.counts_for(hit.set, 1));
    }

    fn proximity(ordered: bool, within: u32) -> Matcher {
        let mut b = MatcherBuilder::new();
        for p in ["bleeding", "blood"] {
            b.add(0, p, PLAIN).unwrap();
        }
        for p in ["won't stop", "a lot"] {
            b.add(1, p, PLAIN).unwrap();
        }
        b.proximity(Proximity { set: 2, left: 0, right: 1, within, ordered });
        b.build().unwrap()
    }

    fn near<'a>(m: &Matcher, text: &'a str) -> Vec<(&'a str, Vec<&'a str>)> {
        m.scan(text)
            .hits
            .iter()
            .filter(|h| h.set == 2)
            .map(|h| {
                (&text[h.span.clone()], h.parts.clone().unwrap().iter().map(|r| &text[r.clone()]).collect())
            })
            .collect()
    }

    #[test]
    fn proximity_joins_words_of_two_sets_within_a_distance() {
        let m = proximity(false, 4);
        assert_eq!(
            near(&m, "the bleeding from my hand won't stop"),
            vec![("bleeding from my hand won't stop", vec!["bleeding", "won't stop"])]
        );
        assert_eq!(
            near(&m, "it won't stop bleeding"),
            vec![("won't stop bleeding", vec!["won't stop", "bleeding"])]
        );
        assert_eq!(near(&m, "there is blood, a lot"), vec![("blood, a lot", vec!["blood", "a lot"])]);
        // Too far apart, or in another sentence.
        assert!(near(&m, "the bleeding started when I fell off my bike and it won't stop").is_empty());
        assert!(near(&m, "no bleeding. The noise won't stop").is_empty());
        assert!(near(&m, "no bleeding\nit won't stop").is_empty());
        // "2.5" and an ellipsis are not the end of a sentence.
        assert_eq!(near(&m, "bleeding... it won't stop").len(), 1);
        // In order, when asked.
        let m = proximity(true, 4);
        assert!(near(&m, "it won't stop bleeding").is_empty());
        assert_eq!(near(&m, "bleeding and it won't stop").len(), 1);
    }

    #[test]
    fn proximity_reports_negation_from_its_first_part() {
        let m = proximity(false, 4);
        let scan = m.scan("I don't have bleeding that won't stop");
        assert!(scan.hits.iter().filter(|h| h.set == 2).all(|h| h.negated));
    }

    #[test]
    fn describes_how_a_phrase_is_compared() {
        let both = Variation { stem: Some(Language::English), typos: true };
        assert_eq!(
            describe_phrase("Chest pain", both).unwrap(),
            "chest[stem chest, one slip] pain[stem pain, swap]"
        );
        assert_eq!(describe_phrase("diagnos*", both).unwrap(), "diagnos*");
    }

    #[test]
    fn finds_phrases_that_collide_through_a_slip() {
        assert!(slip_collides("chest pain", TYPOS, "chest pian"));
        assert!(!slip_collides("chest pain", PLAIN, "chest pian"));
        assert!(!slip_collides("stroke", TYPOS, "strike"));
        assert!(!slip_collides("chest pain", TYPOS, "chest pain"));
    }

    #[test]
    fn negation_is_reported_not_applied() {
        let m = matcher(&[(0, "agent"), (0, "speak to a human"), (0, "human"), (1, "chest pain")]);
        let negated = |t: &str| m.scan(t).hits.iter().all(|h| h.negated);
        assert!(negated("I don't need an agent"));
        assert!(negated("I do not want to speak to a human"));
        assert!(negated("no chest pain"));
        assert!(negated("no quiero hablar con un agent"));
        assert!(!negated("I can't reach a human"));
        assert!(!negated("not happy, I want an agent"));
        assert!(!negated("no, I want a human"));
        assert!(!negated("why can't I talk to a human"));
        assert!(!negated("this doesn't work I want an agent"));
        assert!(!negated("I do not know how to contact an agent"));
        assert!(!negated("i dont understand, i need a human"));
        assert!(!negated("I'm not able to find a human to talk to"));
        assert!(negated("I don't need to speak to a human"));
    }

    #[test]
    fn contrast_after_a_phrase() {
        let m = matcher(&[(0, "frustrating")]);
        let scan = m.scan("this is frustrating, but you've been great");
        assert!(scan.contrast_after(scan.hits[0].span.end));
        let scan = m.scan("you've been great but this is frustrating");
        assert!(!scan.contrast_after(scan.hits[0].span.end));
    }
}
