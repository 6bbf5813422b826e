//! Conformance with public test vectors in `$HANDRAIL_SHARED/vectors/merkle` (see its PROVENANCE.md): every
//! inclusion and consistency probe of transparency-dev/merkle, the RFC 6962 reference tree (google/certificate-
//! transparency), the derived proofs for trees of 1 to 16 leaves, and every C2SP signed-note vector.
//!
//! Not covered: the `subtreeinclusion` and `subtreeconsistency` probes, which test the subtree proofs of the
//! Merkle Tree Certificates draft, a construction this log does not use.

use handrail::audit::hash::Hash;
use handrail::audit::merkle::{self, leaf_hash, node_hash_bytes, root, verify_consistency, verify_inclusion};
use handrail::audit::note::{self, Checkpoint, Verifier};
use serde_json::Value;

use crate::shared;

fn load(name: &str) -> Value {
    let path = shared::dir().join("vectors/merkle").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn b64(v: &Value) -> Option<Hash> {
    v.as_str().and_then(Hash::from_base64)
}

/// A probe's root: a 32-byte hash as is; any other byte string (the probes use "don't care" placeholders where
/// only equality matters) mapped to a hash of itself, which keeps equality and inequality.
fn probe_root(v: &Value) -> Option<Hash> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str()?).ok()?;
    Some(Hash::from_slice(&bytes).unwrap_or_else(|| handrail::audit::hash::sha256(&bytes)))
}

fn hex(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

/// A probe's proof: `None` when an element is not a 32-byte hash (which must then fail).
fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items.iter().map(b64).collect(),
        _ => None,
    }
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn transparency_dev_inclusion_and_consistency_probes() {
    let d = load("transparency-dev-probes.json");
    let mut checked = 0;
    for p in d["inclusion"].as_array().unwrap() {
        let result = match (b64(&p["root"]), b64(&p["leafHash"]), proof(&p["proof"])) {
            (Some(root), Some(leaf), Some(path)) => verify_inclusion(
                p["leafIdx"].as_u64().unwrap(),
                p["treeSize"].as_u64().unwrap(),
                &leaf,
                &path,
                &root,
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(result, !p["wantErr"].as_bool().unwrap(), "{}", p["file"]);
        checked += 1;
    }
    for p in d["consistency"].as_array().unwrap() {
        let result = match (probe_root(&p["root1"]), probe_root(&p["root2"]), proof(&p["proof"])) {
            (Some(r1), Some(r2), Some(path)) => verify_consistency(
                p["size1"].as_u64().unwrap(),
                p["size2"].as_u64().unwrap(),
                &r1,
                &r2,
                &path,
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(result, !p["wantErr"].as_bool().unwrap(), "{}", p["file"]);
        checked += 1;
    }
    assert_eq!(checked, 196);
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn rfc6962_reference_tree() {
    let d = load("rfc6962-reference-vectors.json");
    let tree = &d["tree"];
    let inputs: Vec<Vec<u8>> = tree["leaf_inputs_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (0..h.as_str().unwrap().len() / 2)
                .map(|i| u8::from_str_radix(&h.as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    let leaves: Vec<Hash> = inputs.iter().map(|i| leaf_hash(i)).collect();
    for (got, want) in leaves.iter().zip(tree["leaf_hashes_hex"].as_array().unwrap()) {
        assert_eq!(*got, hex(want));
    }
    let roots = tree["roots_by_size_hex"].as_array().or(tree["root_hashes_hex"].as_array());
    if let Some(roots) = roots {
        for (size, want) in roots.iter().enumerate() {
            assert_eq!(root(&leaves[..size]), hex(want), "root of size {size}");
        }
    }
    for p in d["inclusion_proofs"].as_array().unwrap() {
        let (index, size) =
            (p["leaf_index"].as_u64().unwrap() as usize, p["tree_size"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex).collect();
        assert_eq!(merkle::inclusion_proof(index, &leaves[..size]), want);
        assert!(
            verify_inclusion(index as u64, size as u64, &leaves[index], &want, &root(&leaves[..size]))
                .is_ok()
        );
    }
    for p in d["consistency_proofs"].as_array().unwrap() {
        let (m, n) = (p["size1"].as_u64().unwrap() as usize, p["size2"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex).collect();
        assert_eq!(merkle::consistency_proof(m, &leaves[..n]), want, "({m}, {n})");
        assert!(
            verify_consistency(m as u64, n as u64, &root(&leaves[..m]), &root(&leaves[..n]), &want).is_ok()
        );
    }
    for h in d["hasher"].as_array().unwrap() {
        match h["op"].as_str().unwrap() {
            "empty_root" => assert_eq!(root(&[]), hex(&h["want_hex"])),
            "leaf" => {
                let input = h["input_hex"].as_str().unwrap();
                let bytes: Vec<u8> = (0..input.len() / 2)
                    .map(|i| u8::from_str_radix(&input[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                assert_eq!(leaf_hash(&bytes), hex(&h["want_hex"]), "{}", h["name"]);
            }
            "node" => {
                let bytes = |f: &str| -> Vec<u8> {
                    let s = h[f].as_str().unwrap();
                    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
                };
                assert_eq!(
                    node_hash_bytes(&bytes("left_hex"), &bytes("right_hex")),
                    hex(&h["want_hex"]),
                    "{}",
                    h["name"]
                );
            }
            other => panic!("unknown hasher op `{other}`"),
        }
    }
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn derived_proofs_for_every_small_tree() {
    let d = load("derived-byte-leaves-proofs.json");
    let leaves: Vec<Hash> = (0..=255u8).map(|i| leaf_hash(&[i])).collect();
    for (size, want) in d["roots_by_size_hex"].as_array().unwrap().iter().enumerate() {
        assert_eq!(root(&leaves[..size]), hex(want), "root of size {size}");
    }
    let mut checked = 0;
    for p in d["inclusion_proofs"].as_array().unwrap() {
        let (index, size) =
            (p["leaf_index"].as_u64().unwrap() as usize, p["tree_size"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex).collect();
        assert_eq!(merkle::inclusion_proof(index, &leaves[..size]), want, "inclusion ({index}, {size})");
        checked += 1;
    }
    for p in d["consistency_proofs"].as_array().unwrap() {
        let (m, n) = (p["size1"].as_u64().unwrap() as usize, p["size2"].as_u64().unwrap() as usize);
        let want: Vec<Hash> = p["proof_hex"].as_array().unwrap().iter().map(hex).collect();
        assert_eq!(merkle::consistency_proof(m, &leaves[..n]), want, "consistency ({m}, {n})");
        checked += 1;
    }
    assert!(checked > 200);
}

fn decode(v: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn signed_note_vectors() {
    let d = load("signed-note-vectors.json");
    for k in d["keys"].as_array().unwrap() {
        let v = Verifier::parse(k["vkey"].as_str().unwrap()).unwrap();
        assert_eq!(handrail::audit::hash::hex(&v.id), k["key_id_hex"].as_str().unwrap());
        assert_eq!(v.to_vkey(), k["vkey"].as_str().unwrap());
        if let Some(skey) = k["skey"].as_str() {
            assert_eq!(note::Signer::parse(skey).unwrap().verifier(), v, "{}", k["name"]);
        }
    }
    for bad in d["bad_vkeys"].as_array().unwrap() {
        if let Some(vkey) = bad["vkey"].as_str() {
            assert!(Verifier::parse(vkey).is_err(), "{vkey} should be refused");
        }
    }
    // Every proper prefix of a valid key is refused (a rule of golang/mod's tests, recorded in the vectors).
    let valid = d["keys"][0]["vkey"].as_str().unwrap();
    for end in 0..valid.len() {
        assert!(Verifier::parse(&valid[..end]).is_err(), "prefix {end}");
    }
    let mut checked = 0;
    for n in d["notes"].as_array().unwrap() {
        let verifiers: Vec<Verifier> = n["verifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| Verifier::parse(v.as_str().unwrap()).unwrap())
            .collect();
        let result = note::open(&decode(&n["message_b64"]), &verifiers);
        let want = &n["want"];
        assert_eq!(result.is_ok(), want["ok"].as_bool().unwrap(), "{}: {result:?}", n["desc"]);
        if let Ok(opened) = result {
            for label in want["verified"].as_array().unwrap() {
                assert!(opened.verified.contains(&label.as_str().unwrap().to_string()), "{}", n["desc"]);
            }
            if let Some(text) = want["text_utf8"].as_str() {
                assert_eq!(opened.text, text);
            }
        }
        checked += 1;
    }
    assert!(checked >= 15);
    let cases = &d["checkpoints"]["body_parse_cases"];
    for c in cases["valid"].as_array().unwrap() {
        // These use short fake hashes; a SHA-256 log requires 32-byte roots, so only the shape is checked.
        let body = c["body"].as_str().unwrap();
        let hash_ok = Hash::from_base64(body.lines().nth(2).unwrap()).is_some();
        assert_eq!(Checkpoint::parse(body).is_ok(), hash_ok, "{body:?}");
    }
    for key in ["invalid", "spec_derived_invalid_not_in_upstream_tests"] {
        for c in cases[key].as_array().unwrap() {
            assert!(Checkpoint::parse(c["body"].as_str().unwrap()).is_err(), "{}", c["why"]);
        }
    }
    let derived = &d["checkpoints"]["derived_signed_checkpoints"];
    let log_key = Verifier::parse(derived["log_vkey"].as_str().unwrap()).unwrap();
    let mut roots = Vec::new();
    for c in derived["checkpoints"].as_array().unwrap() {
        let opened = note::open(&decode(&c["message_b64"]), std::slice::from_ref(&log_key)).unwrap();
        let cp = Checkpoint::parse(&opened.text).unwrap();
        assert_eq!(cp.size, c["tree_size"].as_u64().unwrap());
        assert_eq!(cp.root, hex(&c["root_hex"]));
        roots.push(cp);
    }
    let reference = load("rfc6962-reference-vectors.json");
    let proof: Vec<Hash> = reference["consistency_proofs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["size1"] == 6 && p["size2"] == 8)
        .map(|p| p["proof_hex"].as_array().unwrap().iter().map(hex).collect())
        .unwrap();
    assert!(verify_consistency(6, 8, &roots[0].root, &roots[1].root, &proof).is_ok());
    assert!(
        verify_consistency(6, 8, &roots[0].root, &roots[2].root, &proof).is_err(),
        "the equivocating checkpoint must fail"
    );
}
