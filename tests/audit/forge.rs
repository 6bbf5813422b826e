//! The forger's toolkit: what someone with write access to a log's files (but not its signing key) can do. Every
//! helper writes exactly what a careful forger would: records with a correct `seq` and `prev` chain, Merkle roots
//! recomputed, checkpoints signed with whatever key the forger holds.

use std::path::Path;

use handrail::audit::hash::Hash;
use handrail::audit::merkle::{leaf_hash, root};
use handrail::audit::note::{self, Checkpoint, Signer};
use handrail::audit::{files, seal};

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

/// Rewrites every `seq` and `prev` so the chain is whole again: the chain-recomputing forger.
pub fn rechain(lines: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut prev = Hash::default();
    let mut out = Vec::new();
    for (seq, line) in lines.iter().enumerate() {
        let text = String::from_utf8(line.clone()).unwrap();
        let after_prev = text.split_once("\",\"time\"").map(|(_, rest)| rest).unwrap();
        let rebuilt = format!("{{\"seq\":{seq},\"prev\":\"{}\",\"time\"{after_prev}", prev.hex());
        prev = leaf_hash(rebuilt.strip_suffix('\n').unwrap().as_bytes());
        out.push(rebuilt.into_bytes());
    }
    out
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

/// Seals the log as it now is with `signers`, in both slots of the seal file.
pub fn sign_seal(dir: &Path, signers: &[&Signer]) {
    let all = lines(dir);
    let cp =
        Checkpoint { origin: "test.example/log".into(), size: all.len() as u64, root: root(&leaves(&all)) };
    let note = note::sign(&seal::body(&cp), signers);
    let slot = seal::slot(&note).unwrap();
    write_seals(dir, &[slot.clone(), slot].concat());
}

/// The bytes of both seal slots, wherever the log keeps them (the header of `payloads.bin`, or `seal`).
pub fn seals(dir: &Path) -> Vec<u8> {
    match std::fs::read(dir.join(files::SEAL)) {
        Ok(file) => file,
        Err(_) => std::fs::read(dir.join(files::PAYLOADS)).unwrap()[..seal::HEADER_LEN as usize].to_vec(),
    }
}

/// Writes both seal slots where the log keeps them.
pub fn write_seals(dir: &Path, slots: &[u8]) {
    let file = dir.join(files::SEAL);
    if file.exists() {
        std::fs::write(file, slots).unwrap();
    } else {
        let path = dir.join(files::PAYLOADS);
        let mut payloads = std::fs::read(&path).unwrap();
        payloads[..seal::HEADER_LEN as usize].copy_from_slice(slots);
        std::fs::write(path, payloads).unwrap();
    }
}

/// Deletes the seals: the forger who wipes the writer's signatures of its last commits (both slots zeroed in the
/// header of `payloads.bin`, whose offsets cannot move; or the `seal` file removed).
pub fn delete_seals(dir: &Path) {
    match std::fs::remove_file(dir.join(files::SEAL)) {
        Ok(()) => {}
        Err(_) => write_seals(dir, &vec![0; seal::HEADER_LEN as usize]),
    }
}

/// Removes every checkpoint file of a size above `size`, and makes `checkpoint` the one of `size`.
pub fn roll_back_checkpoints(dir: &Path, size: u64) {
    for entry in std::fs::read_dir(dir.join(files::CHECKPOINTS)).unwrap() {
        let path = entry.unwrap().path();
        let n: u64 = path.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        if n > size {
            std::fs::remove_file(path).unwrap();
        }
    }
    let kept = dir.join(files::CHECKPOINTS).join(files::checkpoint_name(size));
    std::fs::copy(kept, dir.join(files::CHECKPOINT)).unwrap();
}

/// The sizes of the checkpoint files, in order.
pub fn checkpoint_sizes(dir: &Path) -> Vec<u64> {
    let mut sizes: Vec<u64> = std::fs::read_dir(dir.join(files::CHECKPOINTS))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_str().unwrap().parse().unwrap())
        .collect();
    sizes.sort();
    sizes
}

/// Cuts the log to its first `n` records, and `payloads.bin` to the end of their last payload: a truncation
/// that leaves no stray bytes behind.
pub fn cut_to(dir: &Path, n: usize) {
    let all = lines(dir);
    let kept = &all[..n.min(all.len())];
    write_lines(dir, kept);
    let end = kept
        .iter()
        .filter_map(|l| handrail::audit::record::head(l.strip_suffix(b"\n").unwrap_or(l)))
        .filter_map(|h| h.payload.and_then(|p| p.region()))
        .map(|r| r.end)
        .max()
        .unwrap_or(if dir.join(files::SEAL).exists() { 0 } else { seal::HEADER_LEN });
    let path = dir.join(files::PAYLOADS);
    let payloads = std::fs::read(&path).unwrap();
    std::fs::write(&path, &payloads[..(end as usize).min(payloads.len())]).unwrap();
}

/// The careful truncation: the log cut to a checkpoint's size, every later checkpoint deleted, `checkpoint`
/// rolled back to it, and the seals deleted. Self-consistent: only a checkpoint the auditor kept can tell.
pub fn truncate_carefully(dir: &Path, size: u64) {
    cut_to(dir, size as usize);
    roll_back_checkpoints(dir, size);
    delete_seals(dir);
}

/// Puts the seal of `size` (one of the two slots must hold it) in both slots: the forger who rolls the seal
/// back one commit, so the last commit's records lose their signature.
pub fn roll_back_seal(dir: &Path, size: u64) {
    let file = seals(dir);
    let slot = (0..seal::SLOTS)
        .map(|i| file[i * seal::SLOT_LEN..(i + 1) * seal::SLOT_LEN].to_vec())
        .find(|slot| {
            let text = String::from_utf8_lossy(slot);
            let body = text.split_once("\n\n").map(|(b, _)| format!("{b}\n")).unwrap_or_default();
            seal::parse(&body).is_ok_and(|t| t.size == size)
        })
        .expect("a slot sealing that size");
    write_seals(dir, &[slot.clone(), slot].concat());
}
