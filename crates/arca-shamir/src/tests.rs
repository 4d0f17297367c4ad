#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

/// Golden vectors produced by Vault's own algorithm: OpenBao's `sdk/helper/shamir/shamir.go`
/// (openbao/openbao at df6ce2cebaa823979215c116a16820aa913fe3b1, the same code as hashicorp/vault
/// `shamir/shamir.go`; only its two Go 1.22 `range` loops rewritten for go1.19), driven by a
/// scratch Go program that is not kept in this repository. For each case it called
/// `shamir.Split(secret, parts, threshold)` with `crypto/rand.Reader` wrapped in a recorder,
/// checked the result with `shamir.Combine`, and wrote out the shares plus the polynomial
/// coefficients Split drew (the last `len(secret) * (threshold - 1)` bytes read).
const VAULT_VECTORS: &str = include_str!("../testdata/vault_vectors.json");

struct Vector {
    secret: Vec<u8>,
    parts: usize,
    threshold: usize,
    coefficients: Vec<u8>,
    shares: Vec<Vec<u8>>,
}

fn vault_vectors() -> Vec<Vector> {
    let json: serde_json::Value = serde_json::from_str(VAULT_VECTORS).unwrap();
    let hex_field = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            secret: hex_field(&v["secret"]),
            parts: v["parts"].as_u64().unwrap() as usize,
            threshold: v["threshold"].as_u64().unwrap() as usize,
            coefficients: hex_field(&v["coefficients"]),
            shares: v["shares"]
                .as_array()
                .unwrap()
                .iter()
                .map(hex_field)
                .collect(),
        })
        .collect()
}

fn refs<T: AsRef<[u8]>>(shares: &[T]) -> Vec<&[u8]> {
    shares.iter().map(AsRef::as_ref).collect()
}

/// Every `k`-element subset of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        out.push(idx.clone());
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + n - k) else {
            return out;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

fn pick<'a>(shares: &[&'a [u8]], which: &[usize]) -> Vec<&'a [u8]> {
    which.iter().map(|&i| shares[i]).collect()
}

/// Checks that every `threshold`-subset recovers `secret` (sampled when there are too many) and
/// that no sampled `threshold - 1`-subset does.
fn check_subsets(shares: &[&[u8]], threshold: usize, secret: &[u8]) {
    let n = shares.len();
    let sample = |all: Vec<Vec<usize>>| -> Vec<Vec<usize>> {
        let step = all.len() / 2000 + 1;
        all.into_iter().step_by(step).collect()
    };
    for which in sample(subsets(n, threshold)) {
        assert_eq!(
            *combine(&pick(shares, &which)).unwrap(),
            secret,
            "{which:?}"
        );
    }
    if threshold > 2 {
        for which in sample(subsets(n, threshold - 1)) {
            assert_ne!(
                *combine(&pick(shares, &which)).unwrap(),
                secret,
                "{which:?}"
            );
        }
    }
}

#[test]
fn vault_shares_combine_to_the_secret() {
    let vectors = vault_vectors();
    assert_eq!(vectors.len(), 8);
    for v in &vectors {
        let shares = refs(&v.shares);
        assert_eq!(shares.len(), v.parts);
        check_subsets(&shares, v.threshold, &v.secret);
        assert_eq!(*combine(&shares).unwrap(), v.secret);
    }
}

#[test]
fn vault_255_of_255_needs_every_share() {
    let v = vault_vectors()
        .into_iter()
        .find(|v| v.threshold == 255)
        .unwrap();
    let shares = refs(&v.shares);
    assert_eq!(*combine(&shares).unwrap(), v.secret);
    assert_ne!(*combine(&shares[1..]).unwrap(), v.secret);
    assert_ne!(*combine(&shares[..254]).unwrap(), v.secret);
}

#[test]
fn split_reproduces_vault_shares_byte_for_byte() {
    // Same x tags and coefficients as Vault drew: our evaluation must give identical shares.
    for v in vault_vectors() {
        let xs: Vec<u8> = v.shares.iter().map(|s| *s.last().unwrap()).collect();
        let ours = evaluate_shares(&v.secret, &xs, v.threshold, &v.coefficients);
        let ours: Vec<Vec<u8>> = ours.iter().map(|s| s.to_vec()).collect();
        assert_eq!(ours, v.shares);
    }
}

#[test]
fn vault_vectors_use_the_vault_layout() {
    for v in vault_vectors() {
        let mut seen = std::collections::HashSet::new();
        for s in &v.shares {
            assert_eq!(s.len(), v.secret.len() + SHARE_OVERHEAD);
            let x = *s.last().unwrap();
            assert_ne!(x, 0);
            assert!(seen.insert(x));
        }
    }
}

#[test]
fn every_threshold_subset_recovers_and_smaller_ones_do_not() {
    let secret = b"0123456789abcdef0123456789abcdef";
    for (parts, threshold) in [(3, 2), (5, 3), (5, 5), (7, 4), (10, 10), (255, 2), (20, 7)] {
        let shares = split(secret, parts, threshold).unwrap();
        assert_eq!(shares.len(), parts);
        check_subsets(&refs(&shares), threshold, secret);
    }
}

#[test]
fn one_fewer_than_threshold_gives_a_different_value() {
    // Includes threshold 2, where a single share is refused outright.
    let secret = [0x5a; 32];
    for (parts, threshold) in [(3, 2), (5, 3), (10, 10), (255, 255)] {
        let shares = split(&secret, parts, threshold).unwrap();
        let shares = refs(&shares);
        if threshold == 2 {
            assert_eq!(combine(&shares[..1]).unwrap_err(), ShamirError::TooFewParts);
        } else {
            assert_ne!(*combine(&shares[..threshold - 1]).unwrap(), secret);
        }
    }
}

#[test]
fn shares_use_the_vault_layout_with_random_distinct_tags() {
    let secret = [7u8; 16];
    let a = split(&secret, 255, 3).unwrap();
    let b = split(&secret, 255, 3).unwrap();
    let tags = |shares: &[Zeroizing<Vec<u8>>]| -> Vec<u8> {
        shares.iter().map(|s| *s.last().unwrap()).collect()
    };
    for shares in [&a, &b] {
        assert!(shares.iter().all(|s| s.len() == secret.len() + 1));
        let mut t = tags(shares);
        t.sort_unstable();
        assert_eq!(t, (1..=255).collect::<Vec<u8>>());
    }
    // Order of tags and the y values are random (equal by chance with negligible probability).
    assert_ne!(tags(&a), tags(&b));
    assert_ne!(a[0][..16], b[0][..16]);
}

#[test]
fn split_enforces_vault_parameter_rules_in_vault_order() {
    use ShamirError::*;
    let s = b"k";
    assert_eq!(split(s, 1, 2).unwrap_err(), PartsLessThanThreshold);
    assert_eq!(split(b"", 1, 2).unwrap_err(), PartsLessThanThreshold);
    assert_eq!(split(s, 256, 2).unwrap_err(), TooManyParts);
    assert_eq!(split(s, 256, 256).unwrap_err(), TooManyParts);
    assert_eq!(split(s, 5, 1).unwrap_err(), ThresholdTooSmall);
    assert_eq!(split(s, 0, 0).unwrap_err(), ThresholdTooSmall);
    assert_eq!(split(b"", 300, 2).unwrap_err(), TooManyParts);
    assert_eq!(split(b"", 5, 1).unwrap_err(), ThresholdTooSmall);
    assert_eq!(split(b"", 5, 3).unwrap_err(), EmptySecret);
    assert_eq!(split(s, 2, 2).unwrap().len(), 2);
    assert_eq!(split(s, 255, 255).unwrap().len(), 255);
}

#[test]
fn combine_rejects_malformed_input_in_vault_order() {
    use ShamirError::*;
    let shares = split(b"secret", 3, 2).unwrap();
    let [a, b, c] = [&shares[0][..], &shares[1][..], &shares[2][..]];
    assert_eq!(combine(&[]).unwrap_err(), TooFewParts);
    assert_eq!(combine(&[a]).unwrap_err(), TooFewParts);
    assert_eq!(combine(&[&[1], &[2]]).unwrap_err(), PartTooShort);
    assert_eq!(combine(&[&[], &[]]).unwrap_err(), PartTooShort);
    assert_eq!(combine(&[&[1], a]).unwrap_err(), PartTooShort);
    assert_eq!(combine(&[a, &b[1..]]).unwrap_err(), PartLengthMismatch);
    assert_eq!(combine(&[a, b, &[]]).unwrap_err(), PartLengthMismatch);
    assert_eq!(combine(&[a, b, a]).unwrap_err(), DuplicatePart);
    let mut forged = c.to_vec();
    *forged.last_mut().unwrap() = *a.last().unwrap();
    assert_eq!(combine(&[a, &forged]).unwrap_err(), DuplicatePart);
    assert_eq!(*combine(&[a, b, c]).unwrap(), b"secret");
}

#[test]
fn combine_accepts_a_zero_tag_like_vault() {
    // Vault does not reject x = 0; interpolation then returns that share's y values.
    let shares = split(b"abc", 3, 2).unwrap();
    let zero_tagged = [b'x', b'y', b'z', 0];
    assert_eq!(*combine(&[&shares[0], &zero_tagged]).unwrap(), b"xyz");
}

#[test]
fn error_messages_are_vaults_and_carry_no_input() {
    assert_eq!(
        ShamirError::TooFewParts.to_string(),
        "less than two parts cannot be used to reconstruct the secret"
    );
    assert_eq!(
        ShamirError::DuplicatePart.to_string(),
        "duplicate part detected"
    );
    assert_eq!(
        ShamirError::PartsLessThanThreshold.to_string(),
        "parts cannot be less than threshold"
    );
}

/// Carry-less multiply and reduce by 0x11B, written independently of `vsss_rs`.
fn reference_mul(a: u8, b: u8) -> u8 {
    let mut product = 0u16;
    for bit in 0..8 {
        if b >> bit & 1 == 1 {
            product ^= u16::from(a) << bit;
        }
    }
    for bit in (8..16).rev() {
        if product >> bit & 1 == 1 {
            product ^= 0x11B << (bit - 8);
        }
    }
    product as u8
}

#[test]
fn field_is_gf256_with_the_aes_polynomial() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            assert_eq!((Gf256(a) * Gf256(b)).0, reference_mul(a, b), "{a} * {b}");
        }
    }
    assert_eq!(invert(Gf256(0)).0, 0);
    for a in 1..=255u8 {
        assert_eq!((Gf256(a) * invert(Gf256(a))).0, 1, "{a}");
    }
    // FIPS-197 example: {57} · {83} = {c1}.
    assert_eq!((Gf256(0x57) * Gf256(0x83)).0, 0xc1);
}

#[test]
fn shuffle_is_a_permutation_of_the_nonzero_bytes() {
    let mut xs = shuffled_x_coordinates().unwrap();
    assert_ne!(xs, (1..=255).collect::<Vec<u8>>());
    xs.sort_unstable();
    assert_eq!(xs, (1..=255).collect::<Vec<u8>>());
}

#[test]
fn below_stays_in_range() {
    let mut rng = RandomBytes::new();
    for n in 1..=256 {
        for _ in 0..20 {
            assert!(rng.below(n).unwrap() < n);
        }
    }
}

fn params() -> impl Strategy<Value = (Vec<u8>, usize, usize, Vec<usize>)> {
    (proptest::collection::vec(any::<u8>(), 1..48), 2usize..=40)
        .prop_flat_map(|(secret, parts)| (Just(secret), Just(parts), 2..=parts))
        .prop_flat_map(|(secret, parts, threshold)| {
            let order = Just((0..parts).collect::<Vec<_>>()).prop_shuffle();
            (Just(secret), Just(parts), Just(threshold), order)
        })
}

proptest! {
    #[test]
    fn round_trip_from_any_large_enough_subset(
        (secret, parts, threshold, order) in params(),
        extra in 0usize..40,
    ) {
        let shares = split(&secret, parts, threshold).unwrap();
        let shares = refs(&shares);
        let take = threshold + extra % (parts - threshold + 1);
        let chosen = pick(&shares, &order[..take]);
        prop_assert_eq!(&*combine(&chosen).unwrap(), &secret);
    }

    #[test]
    fn too_few_shares_do_not_reveal_a_long_secret(
        secret in proptest::collection::vec(any::<u8>(), 16..48),
        (parts, threshold) in (3usize..=30).prop_flat_map(|p| (Just(p), 3..=p)),
    ) {
        let shares = split(&secret, parts, threshold).unwrap();
        let shares = refs(&shares);
        prop_assert_ne!(&*combine(&shares[..threshold - 1]).unwrap(), &secret);
    }

    #[test]
    fn combine_never_panics(shares in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..6), 0..6,
    )) {
        let _ = combine(&refs(&shares));
    }
}
