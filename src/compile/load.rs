//! Loading: the policy and every pack it `extends`, parsed, base first.

use crate::diagnostic::{SourceId, Sources};
use crate::syntax::ast::*;

use super::build::Builder;
use super::error::{CompileError, CompileErrorKind as K};
use super::packs;
use super::{MAX_EXTENDS_DEPTH, Options};

/// One file of the chain.
pub(super) struct Layer {
    pub(super) source: SourceId,
    pub(super) file: PolicyFile,
    /// The pack's name, or `None` for the local policy.
    pub(super) pack: Option<String>,
}

/// Parses `root` and every pack it extends. Returns the layers base first, or the problems that stopped loading.
pub(super) fn load_chain(
    sources: &mut Sources,
    root: SourceId,
    options: &Options,
    problems: &mut Builder,
) -> Option<Vec<Layer>> {
    let text = sources.get(root).map(|s| s.text.clone()).unwrap_or_default();
    let file = match crate::syntax::parse(&text) {
        Ok(file) => file,
        Err(e) => {
            problems.push(CompileError::syntax(e, root));
            return None;
        }
    };
    let mut chain = vec![Layer { source: root, file, pack: None }];
    let mut seen: Vec<String> = Vec::new();
    while let Some((name, at, from)) =
        chain.last().and_then(|l| extends_of(&l.file).map(|n| (n.text.clone(), n.span, l.source)))
    {
        if seen.contains(&name) || chain.first().and_then(|l| header_id(&l.file)).is_some_and(|id| id == name)
        {
            seen.push(name.clone());
            let err = CompileError::new(K::ExtendsCycle(name, seen.join(" -> ")), from, at);
            problems.push(err);
            return None;
        }
        if seen.len() >= MAX_EXTENDS_DEPTH {
            problems.push(CompileError::new(K::ExtendsTooDeep(MAX_EXTENDS_DEPTH), from, at));
            return None;
        }
        seen.push(name.clone());
        let found = match packs::find_with(&name, &options.packs, &options.pack_dirs) {
            Ok(Some(found)) => found,
            Ok(None) => {
                let known = packs::known_names(&options.pack_dirs);
                let err = CompileError::new(K::UnknownPack(name.clone()), from, at)
                    .suggest(&name, known.iter().map(String::as_str));
                let err = if err.suggestion.is_none() {
                    err.help(format!("the packs are: {}; or pass `--packs DIR`", known.join(", ")))
                } else {
                    err
                };
                problems.push(err);
                return None;
            }
            Err(why) => {
                problems.push(CompileError::new(K::PackFailed(name, why.to_string()), from, at));
                return None;
            }
        };
        let id = sources.add(found.name, found.text.clone());
        match crate::syntax::parse(&found.text) {
            Ok(file) => chain.push(Layer { source: id, file, pack: Some(name) }),
            Err(e) => {
                problems.push(CompileError::syntax(e, id));
                return None;
            }
        }
    }
    chain.reverse();
    Some(chain)
}

fn headers(file: &PolicyFile) -> impl Iterator<Item = &Header> {
    file.items.iter().filter_map(|i| match &i.kind {
        ItemKind::Header(h) => Some(h),
        _ => None,
    })
}

pub(super) fn header_id(file: &PolicyFile) -> Option<&str> {
    headers(file).next().map(|h| h.id.text.as_str())
}

pub(super) fn extends_of(file: &PolicyFile) -> Option<&Name> {
    headers(file).next()?.settings.iter().find_map(|s| match &s.node {
        HeaderSetting::Extends(n) => Some(n),
        _ => None,
    })
}
