//! The writer: appends records, acknowledges them only once durable, seals every commit, signs checkpoints,
//! recovers after a crash, and never adopts what it did not write.
//!
//! Durability is by group commit: [`AuditLog::append`] buffers a record (and its payload), [`AuditLog::commit`]
//! writes the seal of the tree the commit makes (in place, in the header of `payloads.bin`, see [`super::seal`])
//! and every buffered payload, makes both durable with one `fdatasync`, then writes the records (one `fdatasync`),
//! and only then acknowledges them. Payloads are durable before the records that commit to them, and every record
//! is sealed before it is on disk, for the price of one signature per commit.
//!
//! One writer per log: the writer holds an exclusive lock on the log directory itself for its lifetime (and on
//! `LOCK`, for older writers); a second writer, or a maintenance command, gets [`AuditError::Locked`]. Deleting
//! `LOCK` as "stale" changes nothing, and a `log.jsonl`, `payloads.bin` or `seal` replaced under the writer stops
//! it.
//!
//! Recovery on open ([`super::recovery`] decides, before anything is touched): every record up to the largest seal
//! or checkpoint that matches must be intact, and no complete line may be broken, or the writer refuses to open
//! ([`AuditError::Damaged`]): evidence is never repaired silently. An interrupted commit (its seal written, its
//! records not all) and a torn last line are cut. Complete records past the last seal are not the writer's: it
//! refuses them ([`AuditError::Unproven`]) unless told to cut or adopt them ([`Unproven`]). Whatever it cuts or
//! adopts, a `recovery` record says.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::hash::{Hash, SALT_LEN, commitment};
use super::merkle::{CompactRange, leaf_hash};
use super::note::{self, Checkpoint, Signer, Verifier};
use super::record::{
    self, Body, DecisionRecord, PayloadRef, PolicyRef, PolicySource, Record, TransferRecord,
};
use super::recovery::{self, Claim, Source, Tail};
use super::seal::{self, Layout, Slot};
use super::{AuditError, files};

/// What the writer does, on open, with complete records past its last seal: records it cannot prove it wrote
/// (someone appended them, a writer from before seals wrote them, or the seal file was deleted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unproven {
    /// Refuse to open, naming them ([`AuditError::Unproven`]). The default: nobody has looked at them yet.
    #[default]
    Refuse,
    /// Cut them, and record the cut (count, bytes and their SHA-256) in a `recovery` record.
    Cut,
    /// Keep exactly this many of them, vouched for by the operator, and record that in a `recovery` record. Never
    /// applies to erasures, purges and key rotations, whose force comes only from a signature.
    Adopt(u64),
}

/// When the writer signs checkpoints (besides at close and after erasure, purge and key rotation).
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The log's origin line in checkpoints, e.g. `clinic.example/handrail`.
    pub origin: String,
    /// Sign a checkpoint once this many records have been committed since the last one.
    pub checkpoint_every: u64,
    /// Sign a checkpoint at the first commit this long after the last one.
    pub checkpoint_interval: Duration,
    /// What to do with records past the last seal.
    pub unproven: Unproven,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            origin: "handrail".into(),
            checkpoint_every: 10_000,
            checkpoint_interval: Duration::from_secs(60),
            unproven: Unproven::Refuse,
        }
    }
}

/// What a caller records: a decision, a transfer or a deployment. The other kinds of record are the writer's
/// own (erasure, purge, rotation, recovery), written by its methods. Decisions and transfers carry their payload
/// as bytes, which the writer stores behind a salt and commits to in the record.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A decision; its payload is the event (the customer's text and all), kept beside the chain.
    Decision(DecisionRecord<Vec<u8>>),
    /// A handoff packet given to a person; its payload is the packet.
    Transfer(TransferRecord<Vec<u8>>),
    /// A policy was deployed.
    PolicyDeployed {
        /// The policy.
        policy: PolicyRef,
        /// The version of handrail that evaluates under it.
        handrail: Option<String>,
        /// The policy's source files, packs first.
        sources: Vec<PolicySource>,
        /// Conversations in progress carry on with their state (see the record's field).
        continues: bool,
    },
}

/// An open log with its writer lock.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    options: WriterOptions,
    signer: Signer,
    log: File,
    payloads: File,
    /// Where the seals are written, in place.
    seals: Seals,
    /// The slot holding the seal of the durable state (or of the commit being written); the next seal goes in the
    /// other one.
    seal_slot: Option<usize>,
    /// What recovery did on open, when it wrote a `recovery` record.
    recovered: Option<String>,
    /// Held, never read: dropping it releases the log.
    _lock: WriterLock,
    range: CompactRange,
    next_seq: u64,
    prev: Hash,
    payload_end: u64,
    log_buf: Vec<u8>,
    payload_buf: Vec<u8>,
    durable: u64,
    checkpointed: u64,
    checkpointed_at: Instant,
    random: ring::rand::SystemRandom,
    /// Set when a write failed: buffers and files may disagree, so the writer refuses further use until the log
    /// is reopened and recovery cuts the partial write.
    broken: Option<String>,
}

impl AuditLog {
    /// Opens (creating if absent) the log in `dir`, takes the writer lock and recovers from a crash.
    pub fn open(dir: &Path, signer: Signer, options: WriterOptions) -> Result<AuditLog, AuditError> {
        std::fs::create_dir_all(dir.join(files::CHECKPOINTS)).map_err(|e| AuditError::io(dir, e))?;
        let lock = WriterLock::take(dir)?;
        let open = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| AuditError::io(&path, e))
        };
        let mut log = open(files::LOG)?;
        let mut payloads = open(files::PAYLOADS)?;
        let log_path = dir.join(files::LOG);
        let mut bytes = Vec::new();
        log.seek(SeekFrom::Start(0))
            .and_then(|_| log.read_to_end(&mut bytes))
            .map_err(|e| AuditError::io(&log_path, e))?;
        let seals = Seals::open(dir, &bytes, &mut payloads)?;
        let mut this = AuditLog {
            dir: dir.to_path_buf(),
            options,
            signer,
            log,
            payloads,
            seals,
            seal_slot: None,
            recovered: None,
            _lock: lock,
            range: CompactRange::new(),
            next_seq: 0,
            prev: Hash::default(),
            payload_end: 0,
            log_buf: Vec::new(),
            payload_buf: Vec::new(),
            durable: 0,
            checkpointed: 0,
            checkpointed_at: Instant::now(),
            random: ring::rand::SystemRandom::new(),
            broken: None,
        };
        this.recover(&bytes)?;
        // A new log gets a checkpoint of size 0 at once, so that from its first record on a log without
        // `checkpoint` is one whose checkpoints were deleted. Any other log whose `checkpoint` is gone gets one of
        // its proven state.
        if !this.dir.join(files::CHECKPOINT).exists() {
            this.checkpoint(&[])?;
        }
        this.complete_erasures()?;
        Ok(this)
    }

    /// The number of records acknowledged as durable.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    /// What recovery did when the log was opened (the cause in its `recovery` record), if it wrote one.
    pub fn recovered(&self) -> Option<&str> {
        self.recovered.as_deref()
    }

    /// The verifier key of the current signing key.
    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Reads the log, proves what it can against the seals and checkpoints signed with this key, and deals with
    /// what lies past that ([`recovery`] decides; this carries it out): cuts an interrupted commit or a torn line,
    /// refuses records it cannot prove it wrote unless told to cut or adopt them, and records what it did.
    fn recover(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        let log_path = self.dir.join(files::LOG);
        let payload_path = self.dir.join(files::PAYLOADS);
        let payload_len = self.payloads.metadata().map_err(|e| AuditError::io(&payload_path, e))?.len();
        let mut claims = self.checkpoint_claims()?;
        self.checkpointed = claims.iter().map(|c| c.size).max().unwrap_or(0);
        claims.extend(self.seal_claims()?);
        let plan = recovery::analyse(bytes, self.seals.layout.payload_start(), payload_len, &claims)?;

        let (keep, records_cut, records_adopted, cause) = match (&plan.tail, self.options.unproven) {
            (Tail::None, _) => {
                let cause =
                    if plan.torn > 0 { "a torn last line" } else { "payload bytes no record refers to" };
                (&plan.proven, 0, 0, cause.to_string())
            }
            (Tail::Interrupted { sealed, records }, _) => (
                &plan.proven,
                *records,
                0,
                format!(
                    "an interrupted group commit: it was sealed for {sealed} records, and only {} of them were complete on disk; its records were never acknowledged",
                    plan.proven.records.saturating_add(*records)
                ),
            ),
            (Tail::Unproven { records, .. }, Unproven::Cut) => (
                &plan.proven,
                *records,
                0,
                format!(
                    "{records} records past the last seal that the writer could not prove it wrote, cut on the operator's instruction"
                ),
            ),
            (Tail::Unproven { records, authority }, Unproven::Adopt(n))
                if n == *records && authority.is_empty() =>
            {
                (
                    &plan.all,
                    0,
                    *records,
                    format!(
                        "{records} records past the last seal that the writer could not prove it wrote, adopted on the operator's instruction"
                    ),
                )
            }
            (Tail::Unproven { records, authority }, unproven) => {
                return Err(AuditError::Unproven {
                    dir: self.dir.clone(),
                    first: plan.proven.records,
                    records: *records,
                    bytes: plan.all.log_end.saturating_sub(plan.proven.log_end) as u64,
                    detail: match unproven {
                        Unproven::Adopt(_) if !authority.is_empty() => format!(
                            "; they include {}, whose force comes only from a signature, so they are never adopted (only cut)",
                            authority
                                .iter()
                                .map(|(seq, kind)| format!("{kind} {seq}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Unproven::Adopt(n) => format!("; --adopt {n} does not match their number"),
                        _ => String::new(),
                    },
                });
            }
        };
        let log_cut = bytes.get(keep.log_end..).unwrap_or_default();
        let payload_cut = payload_len.saturating_sub(keep.payload_end);
        let interrupted = matches!(plan.tail, Tail::Interrupted { .. });
        self.range = keep.range.clone();
        self.prev = keep.prev;
        self.next_seq = keep.records;
        self.durable = keep.records;
        self.payload_end = keep.payload_end;
        self.seal_slot = plan.sealed_slot.filter(|_| keep.records == plan.proven.records);
        if !log_cut.is_empty() || payload_cut > 0 {
            self.log
                .set_len(keep.log_end as u64)
                .and_then(|_| self.log.sync_all())
                .map_err(|e| AuditError::io(&log_path, e))?;
            self.payloads
                .set_len(keep.payload_end)
                .and_then(|_| self.payloads.sync_all())
                .map_err(|e| AuditError::io(&payload_path, e))?;
        }
        // The state kept must be sealed before anything is appended to it (a log from before seals, a seal file
        // deleted, or adopted records).
        self.ensure_sealed()?;
        if !log_cut.is_empty() || payload_cut > 0 || interrupted || records_adopted > 0 {
            let log_bytes_cut = log_cut.len() as u64;
            tracing::warn!(log_bytes_cut, payload_cut, records_cut, records_adopted, %cause, "audit log recovered");
            let cut_sha256 = (!log_cut.is_empty()).then(|| super::hash::sha256(log_cut).hex());
            self.recovered = Some(cause.clone());
            self.push(
                Utc::now(),
                Body::Recovery {
                    log_bytes_cut,
                    payload_bytes_cut: payload_cut,
                    cause,
                    records_cut,
                    records_adopted,
                    cut_sha256,
                },
            );
            self.commit()?;
        }
        Ok(())
    }

    /// The latest checkpoints as claims, verified with the writer's key: `checkpoint` and the newest file in
    /// `checkpoints/`. The per-size file is written before `checkpoint`; if the writer stopped between the two,
    /// this completes the second write.
    fn checkpoint_claims(&self) -> Result<Vec<Claim>, AuditError> {
        let read = |path: &Path| -> Result<Option<(Checkpoint, Vec<u8>)>, AuditError> {
            let Ok(bytes) = std::fs::read(path) else { return Ok(None) };
            let opened = note::open(&bytes, &[self.signer.verifier()]).map_err(|e| {
                AuditError::Damaged(format!("`{}` does not verify with this key: {e}", path.display()))
            })?;
            let cp = Checkpoint::parse(&opened.text)
                .map_err(|e| AuditError::Damaged(format!("`{}`: {e}", path.display())))?;
            Ok(Some((cp, bytes)))
        };
        let latest_path = self.dir.join(files::CHECKPOINT);
        let latest = read(&latest_path)?;
        let newest_file = std::fs::read_dir(self.dir.join(files::CHECKPOINTS))
            .map_err(|e| AuditError::io(&self.dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "note"))
            .max();
        let newest = match &newest_file {
            Some(path) => read(path)?,
            None => None,
        };
        if let Some((n, bytes)) = &newest
            && latest.as_ref().is_none_or(|(l, _)| n.size > l.size)
        {
            write_atomically(&latest_path, bytes)?;
        }
        let claim = |cp: Checkpoint, name: String| Claim {
            size: cp.size,
            root: cp.root,
            source: Source::Checkpoint(name),
        };
        let mut claims: Vec<Claim> =
            latest.map(|(cp, _)| claim(cp, files::CHECKPOINT.to_string())).into_iter().collect();
        if let (Some((cp, _)), Some(path)) = (newest, newest_file) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            claims.push(claim(cp, format!("{}/{name}", files::CHECKPOINTS)));
        }
        Ok(claims)
    }

    /// The seals that open with the writer's key. A slot that does not (a write torn by power loss, a seal by the
    /// key before a rotation, tampering) proves nothing and is ignored: the verifier reports it.
    fn seal_claims(&self) -> Result<Vec<Claim>, AuditError> {
        let bytes = self.seals.read()?;
        let mut claims = Vec::new();
        for (slot, content) in seal::slots(&bytes).into_iter().enumerate() {
            let opened = match content {
                Slot::Note(note) => note::open(note, &[self.signer.verifier()])
                    .map_err(|e| e.to_string())
                    .and_then(|o| seal::parse(&o.text).map_err(|e| e.to_string())),
                Slot::Empty => continue,
                Slot::Malformed(why) => Err(why.to_string()),
            };
            match opened {
                Ok(tree) if tree.origin == self.options.origin => {
                    claims.push(Claim { size: tree.size, root: tree.root, source: Source::Seal(slot) });
                }
                Ok(tree) => {
                    tracing::warn!(slot, origin = %tree.origin, "a seal of another origin is ignored")
                }
                Err(why) => {
                    tracing::warn!(slot, %why, "a seal slot that does not open with this key is ignored")
                }
            }
        }
        Ok(claims)
    }

    /// Seals the durable state if no slot holds its seal yet.
    fn ensure_sealed(&mut self) -> Result<(), AuditError> {
        if self.seal_slot.is_none() {
            self.seal_state(self.durable, &[], Durable::Now)?;
        }
        Ok(())
    }

    /// Signs the tree of the first `size` records (the range as it now is) and writes it in the slot that does not
    /// hold the seal of the durable state; that slot then holds it. Durable at once, except with `Durable::Later`
    /// in a log whose seals head `payloads.bin`: the commit's payload `fdatasync` then makes it durable.
    fn seal_state(&mut self, size: u64, extra: &[&Signer], durable: Durable) -> Result<(), AuditError> {
        let tree = Checkpoint { origin: self.options.origin.clone(), size, root: self.range.root() };
        let mut signers = vec![&self.signer];
        signers.extend_from_slice(extra);
        let note = note::sign(&seal::body(&tree), &signers);
        let bytes = seal::slot(&note).ok_or_else(|| {
            AuditError::Damaged(format!(
                "a seal of origin `{}` does not fit in {} bytes: use a shorter origin and key name",
                self.options.origin,
                seal::SLOT_LEN
            ))
        })?;
        let slot = self.seal_slot.map_or(0, |s| if s == 0 { 1 } else { 0 });
        self.seals.write(slot, &bytes, durable)?;
        self.seal_slot = Some(slot);
        Ok(())
    }

    /// Buffers a record; it is durable, and acknowledged, at the next [`AuditLog::commit`]. Returns its seq.
    pub fn append(&mut self, time: DateTime<Utc>, entry: Entry) -> Result<u64, AuditError> {
        if let Some(why) = &self.broken {
            return Err(broken(why));
        }
        let body = match entry {
            Entry::Decision(record) => {
                let payload = self.store(&record.payload)?;
                Body::Decision(record.with_payload(payload))
            }
            Entry::Transfer(record) => {
                let payload = self.store(&record.payload)?;
                Body::Transfer(record.with_payload(payload))
            }
            Entry::PolicyDeployed { policy, handrail, sources, continues } => {
                Body::PolicyDeployed { policy, handrail, sources, continues }
            }
        };
        Ok(self.push(time, body))
    }

    /// Buffers a payload with a fresh salt; returns where it will be and its commitment.
    fn store(&mut self, payload: &[u8]) -> Result<PayloadRef, AuditError> {
        let mut salt = [0u8; SALT_LEN];
        ring::rand::SecureRandom::fill(&self.random, &mut salt)
            .map_err(|_| AuditError::Damaged("no randomness available for a salt".into()))?;
        let offset = self.payload_end;
        let length = u64::try_from(payload.len()).ok();
        let end = length
            .and_then(|n| n.checked_add(SALT_LEN as u64))
            .and_then(|n| offset.checked_add(n))
            .ok_or_else(|| AuditError::Damaged("the payload file would pass 2^64 bytes".into()))?;
        self.payload_buf.extend_from_slice(&salt);
        self.payload_buf.extend_from_slice(payload);
        self.payload_end = end;
        Ok(PayloadRef {
            offset,
            length: length.unwrap_or_default(),
            commitment: commitment(&salt, payload).hex(),
        })
    }

    fn push(&mut self, time: DateTime<Utc>, body: Body) -> u64 {
        let seq = self.next_seq;
        let record = Record { seq, prev: self.prev.hex(), time, body };
        // INVARIANT: a `Record` always serialises (strings, numbers and times only).
        let line = serde_json::to_vec(&record).unwrap_or_default();
        let hash = leaf_hash(&line);
        self.range.push(hash);
        self.prev = hash;
        // A log of 2^64 records cannot be written (each takes a line of a file).
        self.next_seq = self.next_seq.saturating_add(1);
        self.log_buf.extend_from_slice(&line);
        self.log_buf.push(b'\n');
        seq
    }

    /// Makes every buffered record durable (one fsync per file) and returns how many records are durable. Signs a
    /// checkpoint when one is due.
    pub fn commit(&mut self) -> Result<u64, AuditError> {
        if let Some(why) = &self.broken {
            return Err(broken(why));
        }
        let result = self.write_buffers();
        if let Err(e) = &result {
            self.broken = Some(e.to_string());
        }
        result
    }

    /// The group commit (FORMAT.md §6): the seal of the tree the commit makes and the payloads, durable together,
    /// then the records. Sealing before writing is what lets the writer tell on open the records it wrote (all
    /// sealed) from records someone appended (past every seal).
    fn write_buffers(&mut self) -> Result<u64, AuditError> {
        if !self.payload_buf.is_empty() || !self.log_buf.is_empty() {
            still_the_same(&self.payloads, &self.dir.join(files::PAYLOADS))?;
            still_the_same(&self.log, &self.dir.join(files::LOG))?;
            self.seals.still_the_same()?;
        }
        let payload_path = self.dir.join(files::PAYLOADS);
        // With the seals in the payload file's header, its one fdatasync below makes both durable.
        let mut payload_sync = false;
        if !self.log_buf.is_empty() {
            self.seal_state(self.next_seq, &[], Durable::Later)?;
            payload_sync = self.seals.layout == Layout::Header;
        }
        if !self.payload_buf.is_empty() {
            self.payloads.write_all(&self.payload_buf).map_err(|e| AuditError::io(&payload_path, e))?;
            self.payload_buf.clear();
            payload_sync = true;
        }
        if payload_sync {
            self.payloads.sync_data().map_err(|e| AuditError::io(&payload_path, e))?;
        }
        if !self.log_buf.is_empty() {
            self.log
                .write_all(&self.log_buf)
                .and_then(|_| self.log.sync_data())
                .map_err(|e| AuditError::io(&self.dir.join(files::LOG), e))?;
            self.log_buf.clear();
        }
        self.durable = self.next_seq;
        let due = self.durable.saturating_sub(self.checkpointed) >= self.options.checkpoint_every
            || (self.durable > self.checkpointed
                && self.checkpointed_at.elapsed() >= self.options.checkpoint_interval);
        if due {
            self.checkpoint(&[])?;
        }
        Ok(self.durable)
    }

    /// Signs a checkpoint of everything durable, written atomically, also signed by `extra` keys.
    fn checkpoint(&mut self, extra: &[&Signer]) -> Result<(), AuditError> {
        let cp =
            Checkpoint { origin: self.options.origin.clone(), size: self.durable, root: self.range.root() };
        let mut signers = vec![&self.signer];
        signers.extend_from_slice(extra);
        let note = note::sign(&cp.body(), &signers);
        let named = self.dir.join(files::CHECKPOINTS).join(files::checkpoint_name(cp.size));
        write_atomically(&named, note.as_bytes())?;
        write_atomically(&self.dir.join(files::CHECKPOINT), note.as_bytes())?;
        self.checkpointed = cp.size;
        self.checkpointed_at = Instant::now();
        Ok(())
    }

    /// Commits and signs a final checkpoint.
    pub fn close(mut self) -> Result<u64, AuditError> {
        self.commit()?;
        if self.durable > self.checkpointed || !self.dir.join(files::CHECKPOINT).exists() {
            self.checkpoint(&[])?;
        }
        Ok(self.durable)
    }

    /// Switches to a new signing key. The switch is a `key_rotated` record that the old key signs, and the
    /// checkpoint covering it is signed by both keys, so a verifier who trusts the old key learns the new one from
    /// the log itself, and nobody without the old key can introduce one.
    pub fn rotate_key(&mut self, new: Signer) -> Result<(), AuditError> {
        if let Some(why) = &self.broken {
            return Err(broken(why));
        }
        let old_key = self.signer.verifier().label();
        let new_key = new.verifier().to_vkey();
        // The old key authorises the new one, at this seq after this record: a verifier trusts a new key only on
        // that signature, never on the record alone (issue 8: a forged `key_rotated` made verifiers trust an
        // attacker's key).
        let signature =
            self.signer.sign_detached(&record::rotation_message(self.next_seq, &self.prev.hex(), &new_key));
        self.push(Utc::now(), Body::KeyRotated { old_key, new_key, signature });
        self.commit()?;
        let old = std::mem::replace(&mut self.signer, new);
        // The seal of the rotated state signed by both keys, in the other slot: a writer opening with the new
        // key finds a seal it can check (the one the commit wrote is by the old key only).
        self.seal_state(self.durable, &[&old], Durable::Now)?;
        self.checkpoint(&[&old])
    }

    /// Deletes the payloads of every record of `conversation` not already deleted, and records why. Returns
    /// the seqs whose payloads were deleted.
    pub fn erase(&mut self, conversation: &str, reason: &str) -> Result<Vec<u64>, AuditError> {
        let seqs = self.select(|body| body.conversation() == Some(conversation))?;
        if !seqs.is_empty() {
            self.push(
                Utc::now(),
                Body::Erasure {
                    conversation: conversation.into(),
                    seqs: seqs.clone(),
                    reason: reason.into(),
                },
            );
            self.commit()?;
            self.complete_erasures()?;
            self.checkpoint(&[])?;
        }
        Ok(seqs)
    }

    /// Deletes the payloads whose retention ended before `at` (legal holds excepted), and records it.
    pub fn purge(&mut self, at: DateTime<Utc>) -> Result<Vec<u64>, AuditError> {
        let seqs =
            self.select(|body| body.retention().is_some_and(|r| !r.legal_hold && r.keep_until < at))?;
        if !seqs.is_empty() {
            self.push(Utc::now(), Body::RetentionPurge { at, seqs: seqs.clone() });
            self.commit()?;
            self.complete_erasures()?;
            self.checkpoint(&[])?;
        }
        Ok(seqs)
    }

    /// The seqs of every payload not yet erased whose record matches.
    fn select(&mut self, matches: impl Fn(&Body) -> bool) -> Result<Vec<u64>, AuditError> {
        self.commit()?;
        let records = read_records(&self.dir.join(files::LOG))?;
        let deleted: std::collections::HashSet<u64> = records
            .iter()
            .flat_map(|r| match &r.body {
                Body::Erasure { seqs, .. } | Body::RetentionPurge { seqs, .. } => seqs.clone(),
                _ => Vec::new(),
            })
            .collect();
        Ok(records
            .iter()
            .filter(|r| !deleted.contains(&r.seq) && matches(&r.body) && r.body.payload().is_some())
            .map(|r| r.seq)
            .collect())
    }

    /// Zeroes (salt and payload) every payload an `erasure` or `retention_purge` record lists and that is not zero
    /// yet, and makes it durable. The record is committed (sealed) first, so a crash between the two leaves a
    /// record whose erasure this completes on the next open, never a payload gone without a record. Zeroing twice
    /// is harmless. It runs after recovery, so every such record is sealed: a forged erasure appended to the log
    /// is refused with the rest of the unproven tail before it can zero anything.
    fn complete_erasures(&mut self) -> Result<(), AuditError> {
        let log_path = self.dir.join(files::LOG);
        let log = std::fs::read(&log_path).map_err(|e| AuditError::io(&log_path, e))?;
        let mut payloads: std::collections::HashMap<u64, std::ops::Range<u64>> =
            std::collections::HashMap::new();
        let mut listed: Vec<u64> = Vec::new();
        for line in log.split(|b| *b == b'\n') {
            let Some(head) = record::head(line) else { continue };
            match (head.kind, head.payload) {
                (_, Some(p)) => {
                    if let Some(region) = p.region() {
                        payloads.insert(head.seq, region);
                    }
                }
                (b"erasure" | b"retention_purge", None) => {
                    // Only records before the erasure: an erasure listing a later seq (which this writer never
                    // writes) must not reach forward and zero what came after it.
                    if let Ok(r) = serde_json::from_slice::<Record>(line)
                        && let Body::Erasure { seqs, .. } | Body::RetentionPurge { seqs, .. } = r.body
                    {
                        listed.extend(seqs.into_iter().filter(|s| *s < head.seq));
                    }
                }
                _ => {}
            }
        }
        if listed.is_empty() {
            return Ok(());
        }
        // Positioned writes need a handle without O_APPEND: on Linux, pwrite on an append-mode file appends.
        let path = self.dir.join(files::PAYLOADS);
        let overwrite =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| AuditError::io(&path, e))?;
        let file_len = overwrite.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        let mut changed = false;
        for seq in listed {
            let Some(region) = payloads.get(&seq) else { continue };
            // The region must lie inside the file: a hostile length must not size an allocation.
            let len = usize::try_from(region.end.saturating_sub(region.start)).ok();
            let Some(len) = len.filter(|_| region.end <= file_len) else { continue };
            let offset = region.start;
            let mut current = vec![0u8; len];
            if overwrite.read_exact_at(&mut current, offset).is_err() || current.iter().all(|b| *b == 0) {
                continue;
            }
            let zeros = vec![0u8; current.len()];
            overwrite.write_all_at(&zeros, offset).map_err(|e| AuditError::io(&path, e))?;
            changed = true;
        }
        if changed {
            overwrite.sync_data().map_err(|e| AuditError::io(&path, e))?;
        }
        Ok(())
    }
}

/// Whether a seal must be durable when [`AuditLog::seal_state`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durable {
    /// Yes.
    Now,
    /// The caller makes `payloads.bin` durable next (a commit); only a separate seal file is synced at once.
    Later,
}

/// Where the writer keeps its two seal slots ([`seal::Layout`]).
#[derive(Debug)]
struct Seals {
    layout: Layout,
    /// The file that holds the slots: `payloads.bin` for [`Layout::Header`], `seal` for [`Layout::File`].
    path: PathBuf,
    /// A handle on it without `O_APPEND` (on Linux, a positioned write to an append-mode file appends).
    file: File,
}

impl Seals {
    /// Finds (or makes) the log's slots: a new log gets them as the header of `payloads.bin`; a log from before
    /// seals gets a `seal` file.
    fn open(dir: &Path, log: &[u8], payloads: &mut File) -> Result<Seals, AuditError> {
        let payload_path = dir.join(files::PAYLOADS);
        let seal_path = dir.join(files::SEAL);
        let payload_len = payloads.metadata().map_err(|e| AuditError::io(&payload_path, e))?.len();
        let layout = match Layout::of(log, payload_len, seal_path.exists()) {
            Layout::None if log.is_empty() && payload_len == 0 => {
                // A new log: two empty slots head the payload file before any payload is written.
                payloads
                    .write_all(&[0u8; seal::SLOTS * seal::SLOT_LEN])
                    .and_then(|_| payloads.sync_all())
                    .map_err(|e| AuditError::io(&payload_path, e))?;
                Layout::Header
            }
            Layout::None => {
                write_atomically(&seal_path, &[0u8; seal::SLOTS * seal::SLOT_LEN])?;
                Layout::File
            }
            layout => layout,
        };
        let path = if layout == Layout::Header { payload_path } else { seal_path };
        let file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| AuditError::io(&path, e))?;
        Ok(Seals { layout, path, file })
    }

    /// The bytes of the slots: the header of `payloads.bin`, or the whole seal file (the slots of a file of
    /// another length read as malformed).
    fn read(&self) -> Result<Vec<u8>, AuditError> {
        let limit = if self.layout == Layout::Header { seal::HEADER_LEN } else { u64::MAX };
        let mut bytes = Vec::new();
        (&self.file)
            .seek(SeekFrom::Start(0))
            .and_then(|_| (&self.file).take(limit).read_to_end(&mut bytes))
            .map_err(|e| AuditError::io(&self.path, e))?;
        Ok(bytes)
    }

    /// Writes one slot in place; durable at once unless `Later` and the slots head `payloads.bin`.
    fn write(&mut self, slot: usize, bytes: &[u8], durable: Durable) -> Result<(), AuditError> {
        let path = &self.path;
        let io = |e| AuditError::io(path, e);
        if self.layout == Layout::File && self.file.metadata().map_err(io)?.len() != seal::HEADER_LEN {
            // Not two slots (tampering): made two again, or no seal written now would ever be read.
            self.file.set_len(seal::HEADER_LEN).map_err(io)?;
        }
        let offset = (slot as u64).saturating_mul(seal::SLOT_LEN as u64);
        self.file.write_all_at(bytes, offset).map_err(io)?;
        if durable == Durable::Now || self.layout == Layout::File {
            self.file.sync_data().map_err(io)?;
        }
        Ok(())
    }

    /// For a separate seal file: stops the writer if it was replaced (the payload file is checked anyway).
    fn still_the_same(&self) -> Result<(), AuditError> {
        match self.layout {
            Layout::File => still_the_same(&self.file, &self.path),
            Layout::Header | Layout::None => Ok(()),
        }
    }
}

/// The writer's hold on a log directory.
///
/// The lock is on the directory, not on a file in it: an operator who deletes `LOCK` as stale (issue 8: a second
/// writer then ran, acknowledged decisions were lost and the log failed verification for good) cannot release it,
/// since a directory cannot be deleted while it holds the log's files. `LOCK` is still created and locked so that
/// older writers, which lock only it, are kept out too. The files the writer appends to are remembered by device and
/// inode: if one is renamed, deleted or replaced while the writer holds it, the writer stops instead of writing to a
/// file nobody will read.
#[derive(Debug)]
struct WriterLock {
    _dir: File,
    _file: File,
}

impl WriterLock {
    fn take(dir: &Path) -> Result<WriterLock, AuditError> {
        let lock = |file: &File, path: &Path| match file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked(dir.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => Err(AuditError::io(path, e)),
        };
        let handle = File::open(dir).map_err(|e| AuditError::io(dir, e))?;
        lock(&handle, dir)?;
        let path = dir.join(files::LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        lock(&file, &path)?;
        Ok(WriterLock { _dir: handle, _file: file })
    }
}

/// Stops the writer when `path` no longer names the file it holds open as `file`.
fn still_the_same(file: &File, path: &Path) -> Result<(), AuditError> {
    use std::os::unix::fs::MetadataExt as _;
    let held = file.metadata().map_err(|e| AuditError::io(path, e))?;
    match std::fs::metadata(path) {
        Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => Ok(()),
        _ => Err(AuditError::Damaged(format!(
            "`{}` was renamed, deleted or replaced while the writer held it; nothing more is written to it",
            path.display()
        ))),
    }
}

fn broken(why: &str) -> AuditError {
    AuditError::Damaged(format!(
        "an earlier write failed ({why}); reopen the log so recovery can cut the partial write"
    ))
}

/// Every record of a log file, parsed (lines that do not parse are skipped: the verifier reports them).
pub fn read_records(path: &Path) -> Result<Vec<Record>, AuditError> {
    let text = std::fs::read(path).map_err(|e| AuditError::io(path, e))?;
    Ok(text.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
}

/// Writes a file so that a reader sees either the old or the new content, never a mix: temp file, fsync,
/// rename over, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| AuditError::io(path, e))
}
