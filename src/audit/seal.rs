//! The seal: the writer's signature over every group commit, so it can prove on open which records it wrote, and
//! a verifier can tell a record the writer signed from one someone appended.
//!
//! A checkpoint signs a tree that exists. A seal signs the tree a commit is *about to* make durable: the writer
//! signs (origin, size, root) of everything it will have written once the commit's records are on disk, makes the
//! seal durable, and only then writes the records (FORMAT.md §6). So every record the writer ever wrote is covered
//! by a seal before it reaches `log.jsonl`, and a record past the newest seal was not written by it. The price is
//! that a crash between the seal and the records leaves a seal "ahead" of the log, naming records that were never
//! written: which is why a seal is not a checkpoint (its first line is [`TAG`], so no checkpoint reader takes it
//! for one, and nobody can hold it up as a signed tree head of the log).
//!
//! The seals live in two fixed slots of [`SLOT_LEN`] bytes, overwritten in place. The writer always writes the
//! slot that does not hold the seal of its current durable state, so a write torn by a crash leaves the other
//! slot, the previous commit's seal, intact. Where the slots are is the log's [`Layout`]: in a log begun with seals
//! they are the first [`HEADER_LEN`] bytes of `payloads.bin`, so that the one `fdatasync` that makes a commit's
//! payloads durable makes its seal durable too (payloads and seal need no order between them, only both before
//! the records): a seal costs a signature per commit, not another flush of the disk. A log begun before seals
//! cannot grow a header (its payload offsets are signed), so its slots are the file `seal`, at the price of that
//! extra `fdatasync`.

use super::note::{Checkpoint, NoteError};

/// The first line of a seal's text.
pub const TAG: &str = "handrail/seal/v1";

/// The size of one slot.
pub const SLOT_LEN: usize = 4096;

/// The number of slots.
pub const SLOTS: usize = 2;

/// The slots as a header of `payloads.bin`: its payloads start after it.
pub const HEADER_LEN: u64 = (SLOTS * SLOT_LEN) as u64;

/// Where a log's seals are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The first [`HEADER_LEN`] bytes of `payloads.bin`; payloads start at [`HEADER_LEN`].
    Header,
    /// The file `seal` (a log begun before seals); payloads start at 0.
    File,
    /// Nowhere (a log written before seals, not yet opened by a writer that seals); payloads start at 0.
    None,
}

impl Layout {
    /// The layout of a log (FORMAT.md §5): with a `seal` file, [`Layout::File`]; otherwise [`Layout::Header`]
    /// when its first payload starts at [`HEADER_LEN`], or, with no payload yet, when `payloads.bin` is at least
    /// that long; otherwise [`Layout::None`]. Payload offsets are signed, so a forger cannot move a log from one
    /// layout to another without breaking the chain.
    pub fn of(log: &[u8], payloads_len: u64, seal_file: bool) -> Layout {
        if seal_file {
            return Layout::File;
        }
        let first =
            log.split(|b| *b == b'\n').find_map(|line| super::record::head(line).and_then(|h| h.payload));
        match first {
            Some(p) if p.offset == HEADER_LEN => Layout::Header,
            Some(_) => Layout::None,
            None if payloads_len >= HEADER_LEN => Layout::Header,
            None => Layout::None,
        }
    }

    /// Where the first payload starts in `payloads.bin`.
    pub fn payload_start(self) -> u64 {
        match self {
            Layout::Header => HEADER_LEN,
            Layout::File | Layout::None => 0,
        }
    }
}

/// The text a seal signs: [`TAG`], then the checkpoint body of the tree the commit makes durable.
pub fn body(tree: &Checkpoint) -> String {
    format!("{TAG}\n{}", tree.body())
}

/// The tree a seal's text names.
pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
    let rest = text
        .strip_prefix(TAG)
        .and_then(|rest| rest.strip_prefix('\n'))
        .ok_or(NoteError::BadCheckpoint("a seal starts with `handrail/seal/v1`"))?;
    Checkpoint::parse(rest)
}

/// One slot's bytes: the signed note, then zero bytes to the end of the slot. `None` when the note does not fit
/// (with the zero that ends it): an origin and key names of some 3,000 bytes together.
pub fn slot(note: &str) -> Option<Vec<u8>> {
    if note.len() >= SLOT_LEN {
        return None;
    }
    let mut slot = vec![0u8; SLOT_LEN];
    slot.get_mut(..note.len())?.copy_from_slice(note.as_bytes());
    Some(slot)
}

/// What one slot of the seal file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot<'a> {
    /// All zero: nothing was ever written there.
    Empty,
    /// A note's bytes (not yet opened: the caller checks them with its keys).
    Note(&'a [u8]),
    /// Neither: a torn write, or tampering.
    Malformed(&'static str),
}

/// The slots of a seal file's bytes. The file must be exactly [`SLOTS`] × [`SLOT_LEN`] bytes; each slot is empty
/// or a note followed only by zero bytes (a byte changed in the padding is as visible as one in the note).
pub fn slots(file: &[u8]) -> [Slot<'_>; SLOTS] {
    let one = |index: usize| -> Slot<'_> {
        if file.len() != SLOTS.saturating_mul(SLOT_LEN) {
            return Slot::Malformed("the seal file is not two slots of 4096 bytes");
        }
        let start = index.saturating_mul(SLOT_LEN);
        let Some(bytes) = file.get(start..start.saturating_add(SLOT_LEN)) else {
            return Slot::Malformed("the slot is missing");
        };
        let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
        let (note, padding) = bytes.split_at(end);
        if padding.is_empty() {
            Slot::Malformed("the slot does not end in a zero byte")
        } else if padding.iter().any(|b| *b != 0) {
            Slot::Malformed("bytes after the note are not zero")
        } else if note.is_empty() {
            Slot::Empty
        } else {
            Slot::Note(note)
        }
    };
    [one(0), one(1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::hash::sha256;
    use crate::audit::note::{self, Signer};

    #[test]
    fn a_seal_round_trips_through_a_slot_and_is_no_checkpoint() {
        let signer = Signer::from_seed("example.com/log", [7; 32]).unwrap();
        let tree = Checkpoint { origin: "example.com/log".into(), size: 9, root: sha256(b"r") };
        let note = note::sign(&body(&tree), &[&signer]);
        let file = [slot(&note).unwrap(), vec![0; SLOT_LEN]].concat();
        let [first, second] = slots(&file);
        assert_eq!(second, Slot::Empty);
        let Slot::Note(bytes) = first else { panic!("a note: {first:?}") };
        let opened = note::open(bytes, &[signer.verifier()]).unwrap();
        assert_eq!(parse(&opened.text).unwrap(), tree);
        // Read as a checkpoint, a seal is of another log: its origin line is the tag.
        assert_ne!(Checkpoint::parse(&opened.text).map(|c| c.origin).ok(), Some(tree.origin));
        let mut padded = file.clone();
        padded[SLOT_LEN - 1] = 1;
        assert!(matches!(slots(&padded)[0], Slot::Malformed(_)));
        assert!(matches!(slots(&file[..100])[1], Slot::Malformed(_)));
    }
}
