//! SHA-256 values, their hex and base64 forms, and the payload commitment.

use base64::Engine as _;

/// A SHA-256 value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.hex())
    }
}

impl Hash {
    /// From a ring digest (always 32 bytes for SHA-256).
    pub fn from_digest(d: ring::digest::Digest) -> Hash {
        // INVARIANT: a SHA-256 digest is 32 bytes.
        Hash(<[u8; 32]>::try_from(d.as_ref()).unwrap_or_default())
    }

    /// From exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }

    /// Lowercase hex, 64 characters.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// Whether `hex` (bytes) is this hash in lowercase hex, without allocating. On the verifier's hot path (every
    /// record's `prev`): byte comparisons only, no slice equality (which calls `memcmp` for two bytes).
    pub fn is_hex(&self, hex: &[u8]) -> bool {
        hex.len() == 64
            && self.0.iter().zip(hex.chunks_exact(2)).all(|(b, pair)| match (pair, hex_pair(*b)) {
                (&[h, l], [eh, el]) => h == eh && l == el,
                _ => false,
            })
    }

    /// From 64 lowercase hex characters (FORMAT.md: hex is lowercase; anything else is refused, so one hash
    /// has one spelling).
    pub fn from_hex(s: &str) -> Option<Hash> {
        if s.len() != 64 {
            return None;
        }
        let nibble = |c: u8| NIBBLES.get(usize::from(c)).copied().unwrap_or(INVALID);
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let &[high, low] = pair else { return None };
            let (high, low) = (nibble(high), nibble(low));
            // INVALID has its high bits set, as no digit does.
            if (high | low) > 0x0f {
                return None;
            }
            *byte = (high << 4) | low;
        }
        Some(Hash(out))
    }

    /// Standard base64 (as in checkpoints).
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// From standard base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Option<Hash> {
        base64::engine::general_purpose::STANDARD.decode(s).ok().and_then(|b| Hash::from_slice(&b))
    }
}

/// SHA-256 of bytes.
pub fn sha256(data: &[u8]) -> Hash {
    Hash::from_digest(ring::digest::digest(&ring::digest::SHA256, data))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        out.extend(hex_pair(*b).map(char::from));
    }
    out
}

/// The lowercase hex digits.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Not a lowercase hex digit, in [`NIBBLES`].
const INVALID: u8 = 0xff;

/// Each byte's value as a lowercase hex digit, or [`INVALID`]: one lookup per character when the verifier reads
/// every record's commitment.
static NIBBLES: [u8; 256] = nibbles();

#[expect(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "evaluated at compile time: an index out of range or an overflow fails the build"
)]
const fn nibbles() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 16 {
        table[DIGITS[i] as usize] = i as u8;
        i += 1;
    }
    table
}

/// The two lowercase hex digits of a byte.
fn hex_pair(b: u8) -> [u8; 2] {
    // Both indexes are below 16 (a nibble), so `get` always finds a digit.
    let digit = |nibble: u8| DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
    [digit(b >> 4), digit(b & 0x0f)]
}

/// The domain tag that starts every payload commitment, so a commitment can never be confused with another
/// SHA-256 in the log.
pub const PAYLOAD_TAG: &[u8] = b"handrail/payload/v1\0";

/// The length of a payload's random salt.
pub const SALT_LEN: usize = 32;

/// SHA-256(PAYLOAD_TAG || salt || payload): a hiding commitment to a payload. Without the salt (destroyed on
/// erasure) it reveals nothing about the payload, not even for short, guessable texts.
pub fn commitment(salt: &[u8; SALT_LEN], payload: &[u8]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(PAYLOAD_TAG);
    ctx.update(salt);
    ctx.update(payload);
    Hash::from_digest(ctx.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_round_trip() {
        let h = sha256(b"");
        assert_eq!(h.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(Hash::from_hex(&h.hex()), Some(h));
        assert_eq!(Hash::from_base64(&h.base64()), Some(h));
        assert_eq!(Hash::from_hex("zz"), None);
        assert_eq!(Hash::from_hex(&h.hex().to_uppercase()), None, "hex is lowercase: one spelling per hash");
        assert_eq!(Hash::from_hex(&format!("+{}", &h.hex()[1..])), None);
    }
}
