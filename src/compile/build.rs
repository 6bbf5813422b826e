//! From parsed files to a [`Policy`](super::Policy), in sub-stages, one file each:
//! [`load`](super::load) the `extends` chain, [`merge`](super::merge) the layers (pack first, local last,
//! enforcing `@locked`), then [`lower`](super::lower) them: names resolved, types checked
//! ([`conditions`](super::conditions), [`queues`](super::queues)), the phrase automaton built
//! ([`phrases`](super::phrases)), and the [`lint`](super::lint)s run, which return their warnings.
//!
//! [`Builder`] is the stage's one problem sink: every sub-stage reports into it. The policy is produced only when
//! there is no error; lints never stop compilation.

use crate::diagnostic::Sources;

use super::error::CompileError;
use super::load::Layer;
use super::policy;

/// Collects the problems of every sub-stage and builds the policy.
pub(super) struct Builder {
    /// Errors and lints, in the order found.
    pub(super) problems: Vec<CompileError>,
}

impl Builder {
    /// Reports a problem.
    pub(super) fn push(&mut self, e: CompileError) {
        self.problems.push(e);
    }

    /// Merges the loaded layers and lowers them; `None` when there was an error.
    pub(super) fn build(&mut self, layers: &[Layer], sources: &Sources) -> Option<policy::Policy> {
        let merged = self.merge(layers);
        self.lower(merged, layers, sources)
    }
}
