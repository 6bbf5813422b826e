//! The RFC 9162 (RFC 6962) Merkle tree over the log's records: tree hashes, inclusion and consistency proofs,
//! and their verification.
//!
//! Leaf hash = SHA-256(0x00 || record line), node hash = SHA-256(0x01 || left || right), the empty tree hashes to
//! SHA-256(""). The algorithms follow RFC 9162 §2.1.1 (MTH), §2.1.3 (inclusion: PATH and its verification) and
//! §2.1.4 (consistency: PROOF/SUBPROOF and its verification).

use super::hash::{Hash, sha256};

/// SHA-256(0x00 || data): the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(data);
    Hash::from_digest(ctx.finish())
}

/// SHA-256(0x01 || left || right): the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    node_hash_bytes(&left.0, &right.0)
}

/// [`node_hash`] over arbitrary children (the RFC 6962 hasher test vectors use short strings).
pub fn node_hash_bytes(left: &[u8], right: &[u8]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&[0x01]);
    ctx.update(left);
    ctx.update(right);
    Hash::from_digest(ctx.finish())
}

/// The largest power of two smaller than `n` (n >= 2): the bit at the top of `n - 1` (RFC 9162 §2.1.1's k).
fn split(n: usize) -> usize {
    let top = usize::BITS.saturating_sub(1).saturating_sub(n.saturating_sub(1).leading_zeros());
    1usize.checked_shl(top).unwrap_or(1)
}

/// MTH: the root of the tree over `leaves` (leaf hashes).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => sha256(b""),
        [one] => *one,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The perfect subtrees of a growing tree: adds leaves one at a time and gives the root at any size, in
/// logarithmic memory. How the writer and the verifier follow the tree as they stream the log.
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    /// (height, hash) of each perfect subtree, largest first.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl CompactRange {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves have been added.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(height, left)) = self.stack.last() {
            if height != node.0 {
                break;
            }
            self.stack.pop();
            // A height is at most 64: two subtrees of one height merge only while the tree has room for them.
            node = (height.saturating_add(1), node_hash(&left, &node.1));
        }
        self.stack.push(node);
        // 2^64 leaves cannot be pushed: a leaf per record, and records come from memory or a file.
        self.size = self.size.saturating_add(1);
    }

    /// The root of the tree so far (RFC 9162 MTH).
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(&(_, mut acc)) = nodes.next() else { return sha256(b"") };
        for (_, left) in nodes {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// PATH(m, D\[n\]): the inclusion proof of leaf `index` in the tree over `leaves`.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    let mut proof = Vec::new();
    path(index, leaves, &mut proof);
    proof
}

fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let (left, right) = leaves.split_at(split(leaves.len()));
    if m < left.len() {
        path(m, left, out);
        out.push(root(right));
    } else {
        // m >= left.len() in this branch.
        path(m.saturating_sub(left.len()), right, out);
        out.push(root(left));
    }
}

/// PROOF(m, D\[n\]): the consistency proof between the first `m` leaves and all of `leaves`.
pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let mut proof = Vec::new();
    if m > 0 && m < leaves.len() {
        subproof(m, leaves, true, &mut proof);
    }
    proof
}

fn subproof(m: usize, leaves: &[Hash], whole: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !whole {
            out.push(root(leaves));
        }
        return;
    }
    let (left, right) = leaves.split_at(split(n));
    if m <= left.len() {
        subproof(m, left, whole, out);
        out.push(root(right));
    } else {
        // m > left.len() in this branch.
        subproof(m.saturating_sub(left.len()), right, false, out);
        out.push(root(left));
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not in the tree.
    #[error("leaf index {0} is not below tree size {1}")]
    IndexOutOfRange(u64, u64),
    /// The proof has the wrong number of hashes for the sizes.
    #[error("the proof has the wrong length for these sizes")]
    WrongLength,
    /// The recomputed root differs.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// Sizes that cannot be consistent.
    #[error("sizes {0} and {1} cannot be checked for consistency")]
    BadSizes(u64, u64),
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let last = match size.checked_sub(1) {
        Some(last) if index <= last => last,
        _ => return Err(ProofError::IndexOutOfRange(index, size)),
    };
    let (mut fn_, mut sn) = (index, last);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2). A first size of 0 is refused, as current verifiers do.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 == 0 || size1 > size2 {
        return Err(ProofError::BadSizes(size1, size2));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if root1 == root2 { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len().saturating_add(1));
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else { return Err(ProofError::WrongLength) };
    // Both sizes are at least 1 here (size1 is, and size2 >= size1).
    let (mut fn_, mut sn) = (size1.saturating_sub(1), size2.saturating_sub(1));
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *root1 || sr != *root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i as u8])).collect()
    }

    #[test]
    fn compact_range_agrees_with_mth() {
        let all = leaves(70);
        let mut range = CompactRange::new();
        assert_eq!(range.root(), root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            range.push(*leaf);
            assert_eq!(range.root(), root(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn every_proof_of_small_trees_verifies() {
        let all = leaves(33);
        for n in 1..=all.len() {
            let tree = &all[..n];
            let r = root(tree);
            for m in 0..n {
                let proof = inclusion_proof(m, tree);
                assert_eq!(verify_inclusion(m as u64, n as u64, &tree[m], &proof, &r), Ok(()));
                let other = all[(m + 1) % all.len()];
                assert!(verify_inclusion(m as u64, n as u64, &other, &proof, &r).is_err());
            }
            for m in 1..=n {
                let proof = consistency_proof(m, tree);
                assert_eq!(
                    verify_consistency(m as u64, n as u64, &root(&tree[..m]), &r, &proof),
                    Ok(()),
                    "{m} {n}"
                );
            }
        }
    }
}
