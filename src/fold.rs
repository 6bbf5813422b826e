//! Folds of a labelled message set: a row's fold is a hash of its text, so the split is the same on every
//! machine, for every tool, and needs no list of ids. `handrail score --fold` keeps one fold or all but one;
//! the pack tests read the written cases' tuning and checking folds the same way.

/// A fold of the rows: `K/N`, or `^K/N` for every fold but K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// The fold, from 1.
    pub k: u64,
    /// How many folds.
    pub n: u64,
    /// Keep every fold but `k`.
    pub others: bool,
}

/// A fold that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FoldError {
    /// Not `K/N` or `^K/N`.
    #[error("`{0}` is not a fold: write K/N (fold K of N, as in 1/5) or ^K/N (every fold but K)")]
    Syntax(String),
    /// K or N out of range.
    #[error("`{0}`: folds are numbered 1 to N, and N is at least 2")]
    Range(String),
}

impl Fold {
    /// Parses `K/N` or `^K/N`.
    pub fn parse(spec: &str) -> Result<Fold, FoldError> {
        let (others, rest) = match spec.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let bad = || FoldError::Syntax(spec.to_string());
        let (k, n) = rest.split_once('/').ok_or_else(bad)?;
        let (k, n) =
            (k.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if n < 2 || k < 1 || k > n {
            return Err(FoldError::Range(spec.to_string()));
        }
        Ok(Fold { k, n, others })
    }

    /// The fold of a text: 1 + (first 8 bytes of its SHA-256, big-endian) mod `n`.
    pub fn of(text: &str, n: u64) -> u64 {
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(digest.as_ref().get(..8).unwrap_or(&[0; 8]));
        u64::from_be_bytes(first) % n.max(1) + 1
    }

    /// Whether a row with this text is kept.
    pub fn keeps(&self, text: &str) -> bool {
        (Fold::of(text, self.n) == self.k) != self.others
    }
}

impl std::fmt::Display for Fold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}/{}", if self.others { "^" } else { "" }, self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn folds_split_every_row_once_and_stably() {
        assert_eq!(Fold::parse("1/5"), Ok(Fold { k: 1, n: 5, others: false }));
        assert_eq!(Fold::parse("^2/5"), Ok(Fold { k: 2, n: 5, others: true }));
        for bad in ["0/5", "6/5", "1/1", "x/5", "1-5", ""] {
            assert!(Fold::parse(bad).is_err(), "{bad}");
        }
        // The fold is fixed by the text alone (the SHA-256 of "hello" begins 2cf24dba5fb0a30e).
        assert_eq!(Fold::of("hello", 5), 0x2cf2_4dba_5fb0_a30e_u64 % 5 + 1);
        let (one, rest) = (Fold::parse("1/5").unwrap(), Fold::parse("^1/5").unwrap());
        let texts: Vec<String> = (0..1000).map(|i| format!("message {i}")).collect();
        assert!(texts.iter().all(|t| one.keeps(t) != rest.keeps(t)));
        let kept = texts.iter().filter(|t| one.keeps(t)).count();
        assert!((150..250).contains(&kept), "{kept} of 1000 in fold 1 of 5");
    }
}
