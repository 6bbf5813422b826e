//! The forger's toolkit: what someone with write access to a log's files (but not its signing key) can do. Every
//! helper writes exactly what a careful forger would: records with a correct `seq` and `prev` chain, Merkle roots
//! recomputed, checkpoints signed with whatever key the forger holds.

use std::path::Path;

use handrail::audit::files;
use handrail::audit::hash::Hash;
use handrail::audit::merkle::{leaf_hash, root};
use handrail::audit::note::{self, Checkpoint, Signer};

/// The log's lines, each with its `\n`.
pub fn lines(dir: &Path) -> Vec<Vec<u8>> {
    let log = std::fs::read(dir.join(files::LOG)).unwrap();
    log.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

pub fn write_lines(dir: &Path, lines: &[Vec<u8>]) {
    std::fs::write(dir.join(files::LOG), lines.concat()).unwrap();
}

fn leaves(lines: &[Vec<u8>]) -> Vec<Hash> {
    lines.iter().map(|l| leaf_hash(l.strip_suffix(b"\n").unwrap_or(l))).collect()
}

/// A record line that continues `lines`: `{"seq":N,"prev":"...","time":"...","kind":KIND<rest>}`.
pub fn next_line(lines: &[Vec<u8>], kind: &str, rest: &str) -> Vec<u8> {
    let prev = leaves(lines).last().copied().unwrap_or_default();
    format!(
        "{{\"seq\":{},\"prev\":\"{}\",\"time\":\"2026-06-01T00:00:00Z\",\"kind\":\"{kind}\"{rest}}}\n",
        lines.len(),
        prev.hex()
    )
    .into_bytes()
}

/// Appends a record to the log, chained correctly.
pub fn append(dir: &Path, kind: &str, rest: &str) {
    let mut all = lines(dir);
    let line = next_line(&all, kind, rest);
    all.push(line);
    write_lines(dir, &all);
}

/// A forged decision's members after `kind`, pointing at `length` bytes at `offset` of `payloads.bin`.
pub fn decision_members(offset: u64, length: u64, commitment: &Hash) -> String {
    format!(
        ",\"payload\":{{\"offset\":{offset},\"length\":{length},\"commitment\":\"{}\"}},\"conversation\":\"c0\",\"policy\":{{\"id\":\"p\",\"version\":\"1\",\"hash\":\"{}\"}},\"action\":\"answer\",\"reasons\":[\"default\"],\"rules\":[]",
        commitment.hex(),
        "ab".repeat(32)
    )
}

/// Appends a forged decision with a real payload (salt and text appended to `payloads.bin`).
pub fn append_decision(dir: &Path, text: &str) {
    let path = dir.join(files::PAYLOADS);
    let mut payloads = std::fs::read(&path).unwrap_or_default();
    let salt = [0x42u8; 32];
    let offset = payloads.len() as u64;
    payloads.extend_from_slice(&salt);
    payloads.extend_from_slice(text.as_bytes());
    std::fs::write(&path, payloads).unwrap();
    let commitment = handrail::audit::hash::commitment(&salt, text.as_bytes());
    append(dir, "decision", &decision_members(offset, text.len() as u64, &commitment));
}

/// The checkpoint of the log as it now is, signed by `signers`.
pub fn checkpoint_note(dir: &Path, origin: &str, signers: &[&Signer]) -> (Checkpoint, String) {
    let all = lines(dir);
    let cp = Checkpoint { origin: origin.into(), size: all.len() as u64, root: root(&leaves(&all)) };
    let note = note::sign(&cp.body(), signers);
    (cp, note)
}

/// Signs the log as it now is with `signers` and writes it as `checkpoint` and `checkpoints/<size>.note`.
pub fn sign_checkpoint(dir: &Path, signers: &[&Signer]) {
    let (cp, note) = checkpoint_note(dir, "test.example/log", signers);
    std::fs::write(dir.join(files::CHECKPOINTS).join(files::checkpoint_name(cp.size)), &note).unwrap();
    std::fs::write(dir.join(files::CHECKPOINT), &note).unwrap();
}
