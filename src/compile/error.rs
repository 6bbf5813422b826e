//! The errors and lints of the `compile` stage: a kind, a place, and notes pointing at other places.

use crate::diagnostic::{Diagnostic, Location, Severity, SourceId};
use crate::syntax::ast::Span;

/// A problem found while compiling: an error (the policy cannot be used) or a lint (a warning).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct CompileError {
    /// What is wrong.
    pub kind: CompileErrorKind,
    /// Where.
    pub location: Location,
    /// How to fix it.
    pub help: Option<String>,
    /// The name that was probably meant, apart from `help` so a "did you mean" is never overwritten by it.
    pub suggestion: Option<String>,
    /// Other places involved, each with a note.
    pub notes: Vec<(Location, String)>,
}

impl CompileError {
    /// A problem of `kind` at `span` in `source`.
    pub fn new(kind: CompileErrorKind, source: SourceId, span: Span) -> Self {
        CompileError {
            kind,
            location: Location { source, span },
            help: None,
            suggestion: None,
            notes: Vec::new(),
        }
    }

    /// A syntax error in `source`, reported through this stage's problems like every other.
    pub fn syntax(error: crate::syntax::SyntaxError, source: SourceId) -> Self {
        let (span, help) = (error.span, error.help());
        CompileError { help, ..CompileError::new(CompileErrorKind::Syntax(error), source, span) }
    }

    /// Adds a hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a "did you mean" suggestion when a candidate is close (beside the help, which it does not replace).
    pub fn suggest<'a>(mut self, word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        self.suggestion = crate::diagnostic::did_you_mean(word, candidates).map(str::to_string);
        self
    }

    /// Adds a note at another place.
    pub fn note(mut self, source: SourceId, span: Span, note: impl Into<String>) -> Self {
        self.notes.push((Location { source, span }, note.into()));
        self
    }

    /// Whether this is an error (as opposed to a lint).
    pub fn is_error(&self) -> bool {
        self.kind.severity() == Severity::Error
    }

    /// This problem as a diagnostic.
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            severity: self.kind.severity(),
            code: self.kind.code(),
            message: self.kind.to_string(),
            location: self.location.clone(),
            help: self.help.clone(),
            suggestion: self.suggestion.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// The kinds of compile problem. Lints are the variants whose [`CompileErrorKind::severity`] is a warning.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileErrorKind {
    /// A file (the policy or a pack it extends) could not be parsed.
    #[error("{0}")]
    Syntax(crate::syntax::SyntaxError),

    // ---- the policy as a whole -------------------------------------------------------------------------------
    /// No `policy { ... }` header.
    #[error("the file has no `policy` header")]
    MissingHeader,
    /// Two headers in one file.
    #[error("the file has a second `policy` header")]
    DuplicateHeader,
    /// A setting given twice.
    #[error("`{0}` is set twice")]
    DuplicateSetting(String),
    /// No `safe_queue` anywhere in the policy or its packs.
    #[error("the policy has no `safe_queue`")]
    MissingSafeQueue,
    /// An unknown IANA zone.
    #[error("`{0}` is not an IANA time zone")]
    UnknownTimezone(String),
    /// `extends` names no known pack.
    #[error("there is no rule pack named `{0}`")]
    UnknownPack(String),
    /// `a extends b extends a`.
    #[error("the pack `{0}` extends itself through the chain {1}")]
    ExtendsCycle(String, String),
    /// A chain of `extends` deeper than the limit.
    #[error("`extends` chains more than {0} packs")]
    ExtendsTooDeep(usize),
    /// A pack could not be read or parsed.
    #[error("the pack `{0}` could not be loaded: {1}")]
    PackFailed(String, String),
    /// Over a named limit.
    #[error("the policy has {count} {what}, over the limit of {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },

    // ---- names ---------------------------------------------------------------------------------------------
    /// A name defined twice in one file.
    #[error("{0} `{1}` is defined twice")]
    Duplicate(&'static str, String),
    /// Two rules with one `@id`.
    #[error("the rule id `{0}` is used by two rules")]
    DuplicateId(String),
    /// A reference to an unknown phrase set.
    #[error("there is no phrase set named `{0}`")]
    UnknownPhraseSet(String),
    /// A reference to an unknown queue.
    #[error("there is no queue named `{0}`")]
    UnknownQueue(String),
    /// `route skill x` where no queue has skill `x`.
    #[error("no queue has the skill `{0}`")]
    UnknownSkill(String),
    /// A reference to an unknown disclaimer.
    #[error("there is no disclaimer named `{0}`")]
    UnknownDisclaimer(String),
    /// A reference to an unknown rule.
    #[error("there is no rule named `{0}`")]
    UnknownRule(String),
    /// An unknown field in a condition.
    #[error("`{0}` is not a field handrail knows")]
    UnknownField(String),
    /// An unknown priority.
    #[error("`{0}` is not a priority")]
    UnknownPriority(String),
    /// An unknown channel.
    #[error("`{0}` is not a channel")]
    UnknownChannel(String),
    /// An unknown field to redact.
    #[error("`{0}` is not a field handrail can redact")]
    UnknownRedaction(String),
    /// An unknown annotation.
    #[error("`@{0}` is not an annotation handrail knows")]
    UnknownAnnotation(String),
    /// An annotation given the wrong kind of argument.
    #[error("`@{0}` {1}")]
    BadAnnotation(String, &'static str),
    /// An annotation on an item it does not apply to.
    #[error("`@{0}` does not apply to {1}")]
    MisplacedAnnotation(String, &'static str),

    // ---- rules and conditions ------------------------------------------------------------------------------
    /// A rule without `when`.
    #[error("the rule `{0}` has no `when` condition")]
    MissingWhen(String),
    /// A clause given twice in one rule.
    #[error("`{0}` appears twice in this rule")]
    DuplicateClause(&'static str),
    /// A comparison whose value has the wrong type.
    #[error("`{field}` {expected}, but it is compared with {found}")]
    TypeMismatch {
        /// The field.
        field: String,
        /// What the field accepts, in words.
        expected: &'static str,
        /// What it was given, in words.
        found: &'static str,
    },
    /// An operator the field does not support.
    #[error("`{op}` cannot be used with `{field}`")]
    BadOperator {
        /// The field.
        field: String,
        /// The operator.
        op: &'static str,
    },
    /// A value outside the field's range.
    #[error("`{field}` is between {min} and {max}, so {value} can never be compared meaningfully")]
    OutOfRange {
        /// The field.
        field: String,
        /// Its minimum.
        min: f64,
        /// Its maximum.
        max: f64,
        /// The value given.
        value: f64,
    },
    /// A value that is not one of the field's values.
    #[error("`{value}` is not a value of `{field}`")]
    UnknownValue {
        /// The field.
        field: String,
        /// The value given.
        value: String,
    },
    /// `matched` outside a retention rule or disclaimer.
    #[error("`matched` can only be used in `retain` rules and disclaimers")]
    MatchedOutsideRetain,
    /// A phrase that cannot be matched.
    #[error("the phrase `{0}` cannot be matched: {1}")]
    BadPhrase(String, String),
    /// A queue setting that does not parse.
    #[error("{0}")]
    BadQueueSetting(String),
    /// A required queue setting that is missing.
    #[error("the queue `{0}` has no `{1}`")]
    MissingQueueSetting(String, &'static str),
    /// A disclaimer without text.
    #[error("the disclaimer `{0}` has no `text`")]
    MissingText(String),
    /// A retention rule without `keep`.
    #[error("the retention rule `{0}` has no `keep` period")]
    MissingKeep(String),
    /// A fallback setting out of range.
    #[error("`{0}` must be between {1} and {2}")]
    FallbackRange(&'static str, f64, f64),

    // ---- packs and @locked ---------------------------------------------------------------------------------
    /// Redefining or disabling a locked rule.
    #[error("the rule `{rule}` is locked by the pack `{pack}` and cannot be {action}")]
    LockedRule {
        /// The rule.
        rule: String,
        /// The pack that locked it.
        pack: String,
        /// `replaced` or `disabled`.
        action: &'static str,
    },
    /// Redefining a phrase set that a pack defines.
    #[error("the phrase set `{0}` is already defined by the pack `{1}`")]
    RedefinedPackSet(String, String),
    /// `extend phrases` on a set that does not exist.
    #[error("there is no phrase set named `{0}` to extend")]
    ExtendUnknownSet(String),

    // ---- phrase sets built from sets, and proximity --------------------------------------------------------
    /// Sets that include each other.
    #[error("the phrase sets include each other in a circle: {0}")]
    IncludeCycle(String),
    /// A proximity whose distance is out of range.
    #[error("`within {0}` is out of range: a proximity allows 0 to {1} words between its sides")]
    ProximityDistance(u32, u32),
    /// A proximity whose side holds a proximity.
    #[error("the set `{0}` holds a proximity, so it cannot be a side of another proximity")]
    NestedProximity(String),
    /// An option given twice, or two stemming languages.
    #[error("the phrase set `{0}` sets `{1}` twice")]
    DuplicateSetOption(String, &'static str),

    // ---- lints (warnings) ----------------------------------------------------------------------------------
    /// A rule without `@id`.
    #[error("the rule `{0}` has no `@id`")]
    MissingId(String),
    /// A condition that can never hold.
    #[error("the rule `{0}` can never fire: {1}")]
    NeverFires(String, String),
    /// The same phrase in sets used by two tiers.
    #[error("the phrase `{phrase}` is in `{first}` ({first_tier}) and `{second}` ({second_tier})")]
    PhraseInTwoTiers {
        /// The phrase, normalised.
        phrase: String,
        /// The first set.
        first: String,
        /// Its tier.
        first_tier: &'static str,
        /// The second set.
        second: String,
        /// Its tier.
        second_tier: &'static str,
    },
    /// A phrase given twice in one set.
    #[error("the phrase `{0}` is in the set `{1}` twice")]
    DuplicatePhrase(String, String),
    /// Invisible or look-alike characters in a phrase.
    #[error("the phrase `{0}` contains {1}")]
    SuspiciousPhrase(String, String),
    /// Two rules of one tier can both match and route differently without `rank`.
    #[error("the rules `{0}` and `{1}`{2} are in one tier, can both match, and route to different queues")]
    AmbiguousRoute(String, String, String),
    /// A phrase set that no rule uses.
    #[error("the phrase set `{0}` is not used by any rule")]
    UnusedPhraseSet(String),
    /// A proximity that no message can satisfy.
    #[error("the proximity `{0}` can never match: {1}")]
    ProximityNeverMatches(String, String),
    /// A phrase too generic to stand alone.
    #[error("the phrase `{0}` is too generic to stand alone: {1}")]
    GenericPhrase(String, String),
    /// Typo tolerance makes a phrase match a phrase of another tier.
    #[error(
        "with `typos`, the phrase `{phrase}` of `{set}` ({tier}) also matches `{other}` of `{other_set}` ({other_tier})"
    )]
    TypoCollision {
        /// The phrase that tolerates a slip.
        phrase: String,
        /// Its set.
        set: String,
        /// Its tier.
        tier: &'static str,
        /// The phrase it collides with.
        other: String,
        /// That phrase's set.
        other_set: String,
        /// Its tier.
        other_tier: &'static str,
    },
    /// A pack's queue left at live chat around the clock by the policy extending the pack.
    #[error("the queue `{0}` comes from the pack `{1}` unchanged and promises live chat 24/7")]
    PackQueueDefault(String, String),
}

impl CompileErrorKind {
    /// Error or warning.
    pub fn severity(&self) -> Severity {
        use CompileErrorKind::*;
        match self {
            MissingId(_)
            | NeverFires(..)
            | PhraseInTwoTiers { .. }
            | DuplicatePhrase(..)
            | SuspiciousPhrase(..)
            | AmbiguousRoute(..)
            | UnusedPhraseSet(_)
            | ProximityNeverMatches(..)
            | GenericPhrase(..)
            | TypoCollision { .. } => Severity::Warning,
            PackQueueDefault(..) => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// A stable code, for `--error-format json` and for finding the explanation in the docs.
    pub fn code(&self) -> &'static str {
        use CompileErrorKind::*;
        match self {
            Syntax(e) => e.code(),
            MissingHeader => "compile::missing-header",
            DuplicateHeader => "compile::duplicate-header",
            DuplicateSetting(_) => "compile::duplicate-setting",
            MissingSafeQueue => "compile::missing-safe-queue",
            UnknownTimezone(_) => "compile::unknown-timezone",
            UnknownPack(_) => "compile::unknown-pack",
            ExtendsCycle(..) => "compile::extends-cycle",
            ExtendsTooDeep(_) => "compile::extends-too-deep",
            PackFailed(..) => "compile::pack-failed",
            TooMany { .. } => "compile::limit",
            Duplicate(..) => "compile::duplicate",
            DuplicateId(_) => "compile::duplicate-id",
            UnknownPhraseSet(_) => "compile::unknown-phrase-set",
            UnknownQueue(_) => "compile::unknown-queue",
            UnknownDisclaimer(_) => "compile::unknown-disclaimer",
            UnknownSkill(_) => "compile::unknown-skill",
            UnknownRule(_) => "compile::unknown-rule",
            UnknownField(_) => "compile::unknown-field",
            UnknownPriority(_) => "compile::unknown-priority",
            UnknownChannel(_) => "compile::unknown-channel",
            UnknownRedaction(_) => "compile::unknown-redaction",
            UnknownAnnotation(_) => "compile::unknown-annotation",
            BadAnnotation(..) => "compile::bad-annotation",
            MisplacedAnnotation(..) => "compile::misplaced-annotation",
            MissingWhen(_) => "compile::missing-when",
            DuplicateClause(_) => "compile::duplicate-clause",
            TypeMismatch { .. } => "compile::type-mismatch",
            BadOperator { .. } => "compile::bad-operator",
            OutOfRange { .. } => "compile::out-of-range",
            UnknownValue { .. } => "compile::unknown-value",
            MatchedOutsideRetain => "compile::matched-outside-retain",
            BadPhrase(..) => "compile::bad-phrase",
            BadQueueSetting(_) => "compile::bad-queue-setting",
            MissingQueueSetting(..) => "compile::missing-queue-setting",
            MissingText(_) => "compile::missing-text",
            MissingKeep(_) => "compile::missing-keep",
            FallbackRange(..) => "compile::fallback-range",
            LockedRule { .. } => "compile::locked-rule",
            RedefinedPackSet(..) => "compile::redefined-pack-set",
            ExtendUnknownSet(_) => "compile::extend-unknown-set",
            IncludeCycle(_) => "compile::include-cycle",
            ProximityDistance(..) => "compile::proximity-distance",
            NestedProximity(_) => "compile::nested-proximity",
            DuplicateSetOption(..) => "compile::duplicate-set-option",
            MissingId(_) => "lint::missing-id",
            NeverFires(..) => "lint::never-fires",
            PhraseInTwoTiers { .. } => "lint::phrase-in-two-tiers",
            DuplicatePhrase(..) => "lint::duplicate-phrase",
            SuspiciousPhrase(..) => "lint::suspicious-phrase",
            AmbiguousRoute(..) => "lint::ambiguous-route",
            UnusedPhraseSet(_) => "lint::unused-phrase-set",
            ProximityNeverMatches(..) => "lint::proximity-never-matches",
            GenericPhrase(..) => "lint::generic-phrase",
            TypoCollision { .. } => "lint::typo-collision",
            PackQueueDefault(..) => "lint::pack-queue-default",
        }
    }
}
