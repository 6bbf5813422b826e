//! Merging: the layers (pack first, local last) into one list of definitions per kind, enforcing `@locked`
//! and checking annotations.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::SourceId;
use crate::syntax::ast::{self, *};
use crate::text::Variation;

use super::build::Builder;
use super::error::{CompileError, CompileErrorKind as K};
use super::load::Layer;

/// Something defined in a layer, with where it came from.
pub(super) struct Def<'a, T> {
    pub(super) node: &'a T,
    pub(super) annotations: &'a [Annotation],
    pub(super) source: SourceId,
    pub(super) span: Span,
    pub(super) pack: Option<&'a str>,
}

impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        Def {
            node: self.node,
            annotations: self.annotations,
            source: self.source,
            span: self.span,
            pack: self.pack,
        }
    }
}

impl<T> Def<'_, T> {
    pub(super) fn locked(&self) -> bool {
        self.annotations.iter().any(|a| a.name.text == "locked")
    }

    pub(super) fn annotation(&self, name: &str) -> Option<String> {
        self.annotations
            .iter()
            .find(|a| a.name.text == name)
            .and_then(|a| a.value.as_ref())
            .map(|v| v.value.clone())
    }
}

/// A phrase set after merging: where it was defined, its options, and every entry with where it was written.
pub(super) struct MergedSet {
    pub(super) name: String,
    pub(super) source: SourceId,
    pub(super) span: Span,
    pub(super) variation: Variation,
    pub(super) phrases: Vec<MergedPhrase>,
    pub(super) includes: Vec<(Name, SourceId)>,
    pub(super) proximities: Vec<(ast::Proximity, SourceId, Span)>,
    pub(super) from_root: bool,
}

/// A quoted phrase of a merged set.
pub(super) struct MergedPhrase {
    pub(super) text: String,
    pub(super) source: SourceId,
    pub(super) span: Span,
    /// `@reviewed("...")`: its author has checked that it may stand alone.
    pub(super) reviewed: bool,
}

/// The layers merged into one list of definitions per kind, in definition order.
#[derive(Default)]
pub(super) struct Merged<'a> {
    pub(super) id: Option<(String, SourceId, Span)>,
    pub(super) title: Option<String>,
    pub(super) version: Option<String>,
    pub(super) timezone: Option<(String, SourceId, Span)>,
    pub(super) safe_queue: Option<(String, SourceId, Span)>,
    pub(super) sets: Vec<MergedSet>,
    pub(super) rules: Vec<Def<'a, ast::Rule>>,
    pub(super) fallback: BTreeMap<&'static str, (Def<'a, FallbackClause>, Span)>,
    pub(super) disclaimers: Vec<Def<'a, ast::Disclaimer>>,
    pub(super) retains: Vec<Def<'a, Retain>>,
    pub(super) queues: Vec<Def<'a, ast::Queue>>,
}

fn locked<T>(
    old: &Def<'_, T>,
    old_name: Span,
    name: &Name,
    src: SourceId,
    action: &'static str,
) -> CompileError {
    let pack = old.pack.unwrap_or("this policy").to_string();
    CompileError::new(K::LockedRule { rule: name.text.clone(), pack, action }, src, name.span)
        .note(
            old.source,
            old_name,
            "locked here: a compliance floor no extending policy may remove or weaken",
        )
        .help("add a new rule beside it instead, or extend its phrase sets with `extend phrases`")
}

fn pack_of(layers: &[Layer], source: SourceId) -> String {
    layers
        .iter()
        .find(|l| l.source == source)
        .and_then(|l| l.pack.clone())
        .unwrap_or_else(|| "this policy".into())
}

fn replace_named<'a, T>(list: &mut Vec<Def<'a, T>>, new: Def<'a, T>, name: impl Fn(&T) -> &String) {
    match list.iter().position(|d| name(d.node) == name(new.node)) {
        Some(i) => {
            if let Some(slot) = list.get_mut(i) {
                *slot = new;
            }
        }
        None => list.push(new),
    }
}

fn fallback_key(c: &FallbackClause) -> &'static str {
    match c {
        FallbackClause::WeakBelow(_) => "confidence below",
        FallbackClause::HandoffBelow(_) => "handoff below",
        FallbackClause::Strikes(_) => "strikes",
        FallbackClause::FrustrationAbove(_) => "frustration above",
        FallbackClause::FrustrationSays(_) => "frustration says",
        FallbackClause::RephraseAbove(_) => "rephrase above",
        FallbackClause::DissatisfiedSays(_) => "dissatisfied says",
        FallbackClause::Route(_) => "route",
        FallbackClause::Say(_) => "say",
    }
}

impl Builder {
    pub(super) fn merge<'a>(&mut self, layers: &'a [Layer]) -> Merged<'a> {
        let mut m = Merged::default();
        for layer in layers {
            let src = layer.source;
            let pack = layer.pack.as_deref();
            let is_root = layer.pack.is_none();
            let mut local_names: HashMap<(&'static str, &str), Span> = HashMap::new();
            let mut header_seen = false;
            let mut fallback_seen = false;
            for item in &layer.file.items {
                self.check_annotations(item, src);
                let mut once =
                    |this: &mut Self, kind: &'static str, name: &'a Name| {
                        if let Some(first) = local_names.insert((kind, name.text.as_str()), name.span) {
                            this.push(
                                CompileError::new(K::Duplicate(kind, name.text.clone()), src, name.span)
                                    .note(src, first, "first defined here"),
                            );
                        }
                    };
                match &item.kind {
                    ItemKind::Header(h) => {
                        if header_seen {
                            self.push(CompileError::new(K::DuplicateHeader, src, h.id.span));
                            continue;
                        }
                        header_seen = true;
                        self.merge_header(&mut m, h, src);
                    }
                    ItemKind::Phrases(set) => {
                        once(self, "phrase set", &set.name);
                        if let Some(existing) = m.sets.iter().find(|s| s.name == set.name.text) {
                            if existing.source != src {
                                let owner = pack_of(layers, existing.source);
                                self.push(
                                    CompileError::new(
                                        K::RedefinedPackSet(set.name.text.clone(), owner),
                                        src,
                                        set.name.span,
                                    )
                                    .note(existing.source, existing.span, "defined here")
                                    .help(format!(
                                        "to add phrases, write `extend phrases {} {{ ... }}`",
                                        set.name.text
                                    )),
                                );
                            }
                            continue;
                        }
                        let mut merged = MergedSet {
                            name: set.name.text.clone(),
                            source: src,
                            span: set.name.span,
                            variation: self.variation(set, src),
                            phrases: Vec::new(),
                            includes: Vec::new(),
                            proximities: Vec::new(),
                            from_root: is_root,
                        };
                        self.add_entries(&mut merged, set, src);
                        m.sets.push(merged);
                    }
                    ItemKind::ExtendPhrases(set) => {
                        match m.sets.iter_mut().find(|s| s.name == set.name.text) {
                            Some(existing) => self.add_entries(existing, set, src),
                            None => {
                                let names: Vec<String> = m.sets.iter().map(|s| s.name.clone()).collect();
                                self.push(
                                    CompileError::new(
                                        K::ExtendUnknownSet(set.name.text.clone()),
                                        src,
                                        set.name.span,
                                    )
                                    .suggest(&set.name.text, names.iter().map(String::as_str)),
                                );
                            }
                        }
                    }
                    ItemKind::Rule(rule) => {
                        once(self, "rule", &rule.name);
                        let new = Def {
                            node: rule,
                            annotations: &item.annotations,
                            source: src,
                            span: item.span,
                            pack,
                        };
                        match m.rules.iter().position(|r| r.node.name.text == rule.name.text) {
                            Some(i) => {
                                let Some(old) = m.rules.get(i) else { continue };
                                if old.source == src {
                                    continue;
                                }
                                if old.locked() {
                                    self.push(locked(old, old.node.name.span, &rule.name, src, "replaced"));
                                    continue;
                                }
                                if let Some(slot) = m.rules.get_mut(i) {
                                    *slot = new;
                                }
                            }
                            None => m.rules.push(new),
                        }
                    }
                    ItemKind::Disable(name) => {
                        match m.rules.iter().position(|r| r.node.name.text == name.text) {
                            Some(i) => {
                                if let Some(old) = m.rules.get(i)
                                    && old.locked()
                                {
                                    self.push(locked(old, old.node.name.span, name, src, "disabled"));
                                    continue;
                                }
                                m.rules.remove(i);
                            }
                            None => {
                                let names: Vec<&str> =
                                    m.rules.iter().map(|r| r.node.name.text.as_str()).collect();
                                self.push(
                                    CompileError::new(K::UnknownRule(name.text.clone()), src, name.span)
                                        .suggest(&name.text, names),
                                );
                            }
                        }
                    }
                    ItemKind::Fallback(f) => {
                        if fallback_seen {
                            self.push(CompileError::new(
                                K::Duplicate("fallback", "fallback".into()),
                                src,
                                item.span,
                            ));
                            continue;
                        }
                        fallback_seen = true;
                        let mut here: HashMap<&'static str, Span> = HashMap::new();
                        for clause in &f.clauses {
                            let key = fallback_key(&clause.node);
                            if here.insert(key, clause.span).is_some() {
                                self.push(CompileError::new(K::DuplicateClause(key), src, clause.span));
                            }
                            m.fallback.insert(
                                key,
                                (
                                    Def {
                                        node: &clause.node,
                                        annotations: &item.annotations,
                                        source: src,
                                        span: item.span,
                                        pack,
                                    },
                                    clause.span,
                                ),
                            );
                        }
                    }
                    ItemKind::Disclaimer(d) => {
                        once(self, "disclaimer", &d.name);
                        replace_named(
                            &mut m.disclaimers,
                            Def {
                                node: d,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                    ItemKind::Retain(r) => {
                        once(self, "retention rule", &r.name);
                        if let Some(old) =
                            m.retains.iter().find(|x| x.node.name.text == r.name.text && x.source != src)
                            && old.locked()
                        {
                            let old = old.clone();
                            self.push(locked(&old, old.node.name.span, &r.name, src, "replaced"));
                            continue;
                        }
                        replace_named(
                            &mut m.retains,
                            Def {
                                node: r,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                    ItemKind::Queue(q) => {
                        once(self, "queue", &q.name);
                        replace_named(
                            &mut m.queues,
                            Def {
                                node: q,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                }
            }
            if !header_seen {
                self.push(
                    CompileError::new(K::MissingHeader, src, Span::new(0, 0))
                        .help("start the file with `policy <id> { version \"1\" }`"),
                );
            }
        }
        m
    }

    fn merge_header(&mut self, m: &mut Merged<'_>, h: &Header, src: SourceId) {
        m.id = Some((h.id.text.clone(), src, h.id.span));
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for s in &h.settings {
            let key = match &s.node {
                HeaderSetting::Title(t) => {
                    m.title = Some(t.value.clone());
                    "title"
                }
                HeaderSetting::Version(v) => {
                    m.version = Some(v.value.clone());
                    "version"
                }
                HeaderSetting::Extends(_) => "extends",
                HeaderSetting::Timezone(t) => {
                    m.timezone = Some((t.value.clone(), src, t.span));
                    "timezone"
                }
                HeaderSetting::SafeQueue(q) => {
                    m.safe_queue = Some((q.text.clone(), src, q.span));
                    "safe_queue"
                }
            };
            if let Some(first) = seen.insert(key, s.span) {
                self.push(CompileError::new(K::DuplicateSetting(key.into()), src, s.span).note(
                    src,
                    first,
                    "first set here",
                ));
            }
        }
    }

    /// The options of a set definition, each at most once.
    fn variation(&mut self, set: &PhraseSet, src: SourceId) -> Variation {
        let mut variation = Variation::default();
        let (mut stem_seen, mut typos_seen) = (false, false);
        for option in &set.options {
            let (seen, what) = match option.node {
                SetOption::Stem(language) => {
                    variation.stem = Some(match language {
                        StemLanguage::English => crate::text::Language::English,
                        StemLanguage::Spanish => crate::text::Language::Spanish,
                    });
                    (&mut stem_seen, "stem")
                }
                SetOption::Typos => {
                    variation.typos = true;
                    (&mut typos_seen, "typos")
                }
            };
            if std::mem::replace(seen, true) {
                let help = if what == "stem" {
                    "a set is stemmed in one language: put phrases of another language in a set of their own and include both"
                } else {
                    "write the option once"
                };
                self.push(
                    CompileError::new(K::DuplicateSetOption(set.name.text.clone(), what), src, option.span)
                        .help(help),
                );
            }
        }
        variation
    }

    /// Adds the entries of a definition or extension to a merged set, checking their annotations.
    fn add_entries(&mut self, merged: &mut MergedSet, set: &PhraseSet, src: SourceId) {
        for entry in &set.entries {
            let mut reviewed = false;
            for a in &entry.annotations {
                match (a.name.text.as_str(), &a.value, &entry.kind) {
                    ("reviewed", Some(_), EntryKind::Phrase(_)) => reviewed = true,
                    ("reviewed", None, _) => self.push(
                        CompileError::new(K::BadAnnotation("reviewed".into(), "needs a value"), src, a.span)
                            .help("write `@reviewed(\"why this phrase may stand alone\")`"),
                    ),
                    ("reviewed", Some(_), _) => self.push(CompileError::new(
                        K::MisplacedAnnotation(
                            "reviewed".into(),
                            "a set name or a proximity, only to a quoted phrase",
                        ),
                        src,
                        a.span,
                    )),
                    (name, _, _) => self.push(
                        CompileError::new(K::MisplacedAnnotation(name.into(), "a phrase"), src, a.span)
                            .help("a phrase takes only `@reviewed(\"...\")`"),
                    ),
                }
            }
            match &entry.kind {
                EntryKind::Phrase(p) => merged.phrases.push(MergedPhrase {
                    text: p.value.clone(),
                    source: src,
                    span: p.span,
                    reviewed,
                }),
                EntryKind::Include(name) => merged.includes.push((name.clone(), src)),
                EntryKind::Proximity(p) => merged.proximities.push((p.clone(), src, entry.span)),
            }
        }
    }

    fn check_annotations(&mut self, item: &Item, src: SourceId) {
        let what = match &item.kind {
            ItemKind::Header(_) => "a policy header",
            ItemKind::Phrases(_) | ItemKind::ExtendPhrases(_) => "a phrase set",
            ItemKind::Rule(_) => "a rule",
            ItemKind::Fallback(_) => "the fallback",
            ItemKind::Disclaimer(_) => "a disclaimer",
            ItemKind::Retain(_) => "a retention rule",
            ItemKind::Queue(_) => "a queue",
            ItemKind::Disable(_) => "`disable`",
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for a in &item.annotations {
            let name = a.name.text.as_str();
            if seen.insert(name, a.span).is_some() {
                self.push(CompileError::new(K::BadAnnotation(name.into(), "is given twice"), src, a.span));
                continue;
            }
            match (name, &a.value) {
                ("id" | "cite" | "owner" | "message", None) => self.push(
                    CompileError::new(K::BadAnnotation(name.into(), "needs a value"), src, a.span)
                        .help(format!("write `@{name}(\"...\")`")),
                ),
                ("locked", Some(_)) => {
                    self.push(CompileError::new(K::BadAnnotation(name.into(), "takes no value"), src, a.span))
                }
                ("id" | "cite" | "owner" | "message" | "locked", _) => {}
                _ => self.push(
                    CompileError::new(K::UnknownAnnotation(name.into()), src, a.name.span)
                        .suggest(name, ["id", "cite", "owner", "message", "locked"]),
                ),
            }
            let applies = match name {
                "id" => matches!(item.kind, ItemKind::Rule(_)),
                "locked" => matches!(item.kind, ItemKind::Rule(_) | ItemKind::Retain(_)),
                _ => !matches!(item.kind, ItemKind::Disable(_)),
            };
            if !applies {
                self.push(CompileError::new(K::MisplacedAnnotation(name.into(), what), src, a.span));
            }
        }
    }
}
