//! C2SP signed notes (signed-note/v1) with Ed25519 keys, and the tlog-checkpoint body they carry.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
//! `— <key name> <base64(key id || signature)>`. The key id is the first 4 bytes of
//! SHA-256(key name || 0x0A || 0x01 || public key); 0x01 is the Ed25519 signature type. A verifier key is written
//! `<name>+<key id hex>+<base64(0x01 || public key)>`, a signer key `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ||
//! seed)>` (the formats of golang.org/x/mod/sumdb/note, so keys interoperate with that ecosystem).
//!
//! A checkpoint (tlog-checkpoint/v1) is a note whose text is `<origin>\n<tree size>\n<base64 root hash>\n`.

use base64::Engine as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::hash::{Hash, sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The Ed25519 signature type byte.
const ED25519_TYPE: u8 = 0x01;

/// The most signature lines a note may carry (as golang.org/x/mod; C2SP requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Why a key or a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A malformed verifier or signer key.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// A malformed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature by a known key that does not verify.
    #[error("invalid signature for key {0}")]
    BadSignature(String),
    /// No signature by any known key.
    #[error("note has no verifiable signatures")]
    Unverified,
    /// A malformed checkpoint body.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
}

fn key_id(name: &str, public: &[u8]) -> [u8; 4] {
    let mut data = Vec::with_capacity(name.len().saturating_add(2).saturating_add(public.len()));
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ED25519_TYPE);
    data.extend_from_slice(public);
    let h = sha256(&data);
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', ' ', '\n']) && !name.chars().any(char::is_control)
}

/// A public key that verifies signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The key name.
    pub name: String,
    /// The key id.
    pub id: [u8; 4],
    public: Vec<u8>,
}

impl Verifier {
    /// Parses `<name>+<hex id>+<base64(0x01 || key)>`.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let vkey = vkey.trim();
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("expected name+id+key"));
        };
        if !valid_name(name) || id_hex.len() != 8 {
            return Err(NoteError::BadKey("bad name or key id"));
        }
        let bytes = B64.decode(key).map_err(|_| NoteError::BadKey("key is not base64"))?;
        let (Some(&ED25519_TYPE), Some(public)) = (bytes.first(), bytes.get(1..)) else {
            return Err(NoteError::BadKey("not an Ed25519 key"));
        };
        if public.len() != 32 {
            return Err(NoteError::BadKey("an Ed25519 key is 32 bytes"));
        }
        let id = key_id(name, public);
        if super::hash::hex(&id) != id_hex {
            return Err(NoteError::BadKey("key id does not match the key"));
        }
        Ok(Verifier { name: name.to_string(), id, public: public.to_vec() })
    }

    /// The `<name>+<hex id>+<base64>` form.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ED25519_TYPE];
        key.extend_from_slice(&self.public);
        format!("{}+{}+{}", self.name, super::hash::hex(&self.id), B64.encode(key))
    }

    /// `<name>+<hex id>`: how the key is named in reports.
    pub fn label(&self) -> String {
        format!("{}+{}", self.name, super::hash::hex(&self.id))
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public).verify(message, signature).is_ok()
    }

    /// Whether `signature`, as [`Signer::sign_detached`] writes it (base64 of key id || signature), is this key's
    /// signature of `message`.
    pub fn verify_detached(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = B64.decode(signature) else { return false };
        match bytes.split_first_chunk::<4>() {
            Some((id, sig)) => *id == self.id && self.verify(message, sig),
            None => false,
        }
    }
}

/// A private key that signs notes.
pub struct Signer {
    name: String,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the seed.
        write!(f, "Signer({})", self.name)
    }
}

impl Signer {
    /// A signer from a name and a 32-byte seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadKey("bad key name"));
        }
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| NoteError::BadKey("bad Ed25519 seed"))?;
        Ok(Signer { name: name.to_string(), seed, pair })
    }

    /// A new random key.
    pub fn generate(name: &str) -> Result<Signer, NoteError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
            .map_err(|_| NoteError::BadKey("no randomness available"))?;
        Signer::from_seed(name, seed)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn parse(skey: &str) -> Result<Signer, NoteError> {
        let rest =
            skey.trim().strip_prefix("PRIVATE+KEY+").ok_or(NoteError::BadKey("expected PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey("expected PRIVATE+KEY+name+id+key"));
        };
        let bytes = B64.decode(key).map_err(|_| NoteError::BadKey("key is not base64"))?;
        let (Some(&ED25519_TYPE), Some(seed)) = (bytes.first(), bytes.get(1..)) else {
            return Err(NoteError::BadKey("not an Ed25519 key"));
        };
        let seed =
            <[u8; 32]>::try_from(seed).map_err(|_| NoteError::BadKey("an Ed25519 seed is 32 bytes"))?;
        let signer = Signer::from_seed(name, seed)?;
        if super::hash::hex(&signer.verifier().id) != id_hex {
            return Err(NoteError::BadKey("key id does not match the key"));
        }
        Ok(signer)
    }

    /// The `PRIVATE+KEY+...` form.
    pub fn to_skey(&self) -> String {
        let mut key = vec![ED25519_TYPE];
        key.extend_from_slice(&self.seed);
        format!("PRIVATE+KEY+{}+{}+{}", self.name, super::hash::hex(&self.verifier().id), B64.encode(key))
    }

    /// The matching public key.
    pub fn verifier(&self) -> Verifier {
        let public = self.pair.public_key().as_ref().to_vec();
        Verifier { name: self.name.clone(), id: key_id(&self.name, &public), public }
    }

    /// A signature of `message` outside a note: base64(key id || Ed25519 signature), the same bytes as a note's
    /// signature line carries.
    pub fn sign_detached(&self, message: &[u8]) -> String {
        let mut sig = key_id(&self.name, self.pair.public_key().as_ref()).to_vec();
        sig.extend_from_slice(self.pair.sign(message).as_ref());
        B64.encode(sig)
    }

    /// One signature line for `text`.
    fn signature_line(&self, text: &str) -> String {
        format!("\u{2014} {} {}\n", self.name, self.sign_detached(text.as_bytes()))
    }
}

/// Signs `text` (which must end in a newline) with every signer: the whole note.
pub fn sign(text: &str, signers: &[&Signer]) -> String {
    let mut note = format!("{text}\n");
    for s in signers {
        note.push_str(&s.signature_line(text));
    }
    note
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The signed text.
    pub text: String,
    /// Labels of the known keys that signed it.
    pub verified: Vec<String>,
    /// Labels (`name+id`) of signatures by unknown keys, ignored.
    pub unverified: Vec<String>,
}

/// Opens a note: checks its form and every signature by a known key. An invalid signature by a known key
/// rejects the note; signatures by unknown keys are ignored; at least one known signature is required.
pub fn open(note: &[u8], verifiers: &[Verifier]) -> Result<Opened, NoteError> {
    let note = std::str::from_utf8(note).map_err(|_| NoteError::Malformed("not UTF-8"))?;
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    let (text, block) = note
        .rfind("\n\n")
        .and_then(|split| note.split_at_checked(split.checked_add(1)?))
        .ok_or(NoteError::Malformed("no signature block"))?;
    // `block` starts with the blank line's `\n`.
    let block = block.strip_prefix('\n').ok_or(NoteError::Malformed("no signatures"))?;
    if block.is_empty() || !block.ends_with('\n') {
        return Err(NoteError::Malformed("signature block must end with a newline"));
    }
    let lines: Vec<&str> = block.trim_end_matches('\n').split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::Malformed("too many signatures"));
    }
    let mut verified: Vec<String> = Vec::new();
    let mut unverified = Vec::new();
    for line in lines {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or(NoteError::Malformed("signature line must start with an em dash"))?;
        let (name, sig64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("signature line needs a name and a signature"))?;
        if !valid_name(name) || sig64.contains(' ') {
            return Err(NoteError::Malformed("bad signature line"));
        }
        let sig = B64.decode(sig64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        let (Some(id), Some(signature)) = (sig.get(..4), sig.get(4..)) else {
            return Err(NoteError::Malformed("signature too short"));
        };
        match verifiers.iter().find(|v| v.name == name && v.id == id) {
            Some(v) => {
                if !v.verify(text.as_bytes(), signature) {
                    return Err(NoteError::BadSignature(v.label()));
                }
                if !verified.contains(&v.label()) {
                    verified.push(v.label());
                }
            }
            None => unverified.push(format!("{name}+{}", super::hash::hex(id))),
        }
    }
    if verified.is_empty() {
        return Err(NoteError::Unverified);
    }
    Ok(Opened { text: text.to_string(), verified, unverified })
}

/// A checkpoint: a log's origin, size and root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log.
    pub origin: String,
    /// How many records it covers.
    pub size: u64,
    /// The Merkle root of those records.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint body (the note text).
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root.base64())
    }

    /// Parses a checkpoint body; extension lines after the root are allowed and ignored.
    pub fn parse(body: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = body.split_inclusive('\n');
        let mut line = |what: &'static str| -> Result<&str, NoteError> {
            lines.next().and_then(|l| l.strip_suffix('\n')).ok_or(NoteError::BadCheckpoint(what))
        };
        let origin = line("missing origin line")?;
        let size = line("missing size line")?;
        let root = line("missing root line")?;
        if origin.is_empty() {
            return Err(NoteError::BadCheckpoint("empty origin"));
        }
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or(NoteError::BadCheckpoint("bad tree size"))?;
        let root = Hash::from_base64(root).ok_or(NoteError::BadCheckpoint("root is not a base64 SHA-256"))?;
        Ok(Checkpoint { origin: origin.to_string(), size, root })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_open() {
        let signer = Signer::from_seed("example.com/log", [7; 32]).unwrap();
        let v = signer.verifier();
        assert_eq!(Verifier::parse(&v.to_vkey()).unwrap(), v);
        assert_eq!(Signer::parse(&signer.to_skey()).unwrap().verifier(), v);
        let cp = Checkpoint { origin: "example.com/log".into(), size: 5, root: sha256(b"x") };
        let note = sign(&cp.body(), &[&signer]);
        let opened = open(note.as_bytes(), std::slice::from_ref(&v)).unwrap();
        assert_eq!(Checkpoint::parse(&opened.text).unwrap(), cp);
        let other = Signer::from_seed("example.com/log", [8; 32]).unwrap().verifier();
        assert_eq!(open(note.as_bytes(), &[other]), Err(NoteError::Unverified));
        let tampered = note.replace("\n5\n", "\n6\n");
        assert!(matches!(open(tampered.as_bytes(), &[v]), Err(NoteError::BadSignature(_))));
    }
}
