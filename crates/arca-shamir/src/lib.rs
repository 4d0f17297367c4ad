//! Shamir's secret sharing over GF(2^8), byte-compatible with Vault and OpenBao.
//!
//! The unseal key is split into shares that operators hold; any `threshold` of them rebuild it.
//! To interoperate with Vault's tooling and existing key shares, this crate follows Vault's
//! `shamir` package exactly:
//!
//! - the field is GF(2^8) with the AES polynomial `x^8 + x^4 + x^3 + x + 1` (0x11B);
//! - every secret byte gets its own random polynomial whose intercept is that byte;
//! - a share is `y_1 ‖ … ‖ y_len ‖ x`: one y per secret byte, then the one-byte x tag **last**,
//!   so a share is one byte longer than the secret;
//! - x tags are distinct and never 0, drawn from a random permutation of `1..=255`;
//! - the parameter rules, their order and the error messages are Vault's.
//!
//! Field arithmetic is constant time: multiplication is `vsss_rs::Gf256`'s branch-free bit loop
//! and inversion is a fixed square-and-multiply chain on top of it, with no lookup tables
//! (table-based GF(2^8) leaked through the cache: CVE-2023-25000). Only the x tags, which are
//! public, steer control flow.
//!
//! Shares are not authenticated: a corrupted share silently yields a wrong secret, which the
//! caller detects when the AEAD that the secret unlocks fails.
//!
//! Architecture invariant: this crate depends only on `arca-crypto` (randomness) and on
//! `vsss-rs` (field arithmetic); it knows nothing of seals, storage or HTTP.

use vsss_rs::Gf256;
use zeroize::Zeroizing;

/// Most shares a secret can be split into: x tags are the non-zero bytes.
pub const MAX_PARTS: usize = 255;

/// How many bytes longer than the secret each share is: the trailing x tag.
pub const SHARE_OVERHEAD: usize = 1;

/// Why a split or a combine was refused. Variants carry no secret or share bytes; the messages
/// are Vault's, so operators see the same text from either server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// `split` was asked for fewer shares than the threshold.
    #[error("parts cannot be less than threshold")]
    PartsLessThanThreshold,
    /// `split` was asked for more than [`MAX_PARTS`] shares.
    #[error("parts cannot exceed 255")]
    TooManyParts,
    /// `split` was asked for a threshold below 2.
    #[error("threshold must be at least 2")]
    ThresholdTooSmall,
    /// `split` was given an empty secret.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// `combine` was given fewer than two shares.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// `combine` was given shares shorter than two bytes (one y and the x tag).
    #[error("parts must be at least two bytes")]
    PartTooShort,
    /// `combine` was given shares of different lengths.
    #[error("all parts must be the same length")]
    PartLengthMismatch,
    /// `combine` was given two shares with the same x tag.
    #[error("duplicate part detected")]
    DuplicatePart,
    /// The system random number generator failed.
    #[error("failed to generate polynomial: random number generator failure")]
    Rng,
}

/// Splits `secret` into `parts` shares, any `threshold` of which rebuild it with [`combine`].
///
/// Each share is `secret.len() + 1` bytes in Vault's layout (y bytes, then the x tag).
/// Requires `2 <= threshold <= parts <= 255` and a non-empty secret; violations are reported
/// in Vault's order (parts < threshold, parts > 255, threshold < 2, empty secret).
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if parts < threshold {
        return Err(ShamirError::PartsLessThanThreshold);
    }
    if parts > MAX_PARTS {
        return Err(ShamirError::TooManyParts);
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall);
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }

    let mut xs = shuffled_x_coordinates()?;
    xs.truncate(parts);
    // Coefficients a_1..a_{t-1} of every byte's polynomial, uniform over the whole field
    // (a zero leading coefficient is allowed, as in Vault).
    let mut coefficients = Zeroizing::new(vec![0u8; secret.len() * (threshold - 1)]);
    arca_crypto::fill_random(&mut coefficients).map_err(|_| ShamirError::Rng)?;
    Ok(evaluate_shares(secret, &xs, threshold, &coefficients))
}

/// Rebuilds the secret from shares produced by [`split`] (or by Vault / OpenBao).
///
/// Fewer shares than the threshold, or a corrupted share, yield a wrong secret rather than an
/// error: shares carry no integrity check. Like Vault, a share whose x tag is 0 is accepted
/// (it can only have been forged; the result is then simply wrong).
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let [first, _, ..] = shares else {
        return Err(ShamirError::TooFewParts);
    };
    let share_len = first.len();
    if share_len < 2 {
        return Err(ShamirError::PartTooShort);
    }
    if shares.iter().any(|s| s.len() != share_len) {
        return Err(ShamirError::PartLengthMismatch);
    }
    let secret_len = share_len - SHARE_OVERHEAD;

    let mut seen = [false; 256];
    let mut xs = Vec::with_capacity(shares.len());
    for share in shares {
        let x = share[secret_len];
        let slot = &mut seen[usize::from(x)];
        if *slot {
            return Err(ShamirError::DuplicatePart);
        }
        *slot = true;
        xs.push(Gf256(x));
    }

    // The Lagrange weights depend only on the public x tags, so they are computed once and
    // every secret byte is a constant-time dot product of its y values with them.
    let weights = lagrange_weights_at_zero(&xs);
    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    for (idx, out) in secret.iter_mut().enumerate() {
        let mut acc = Gf256(0);
        for (share, weight) in shares.iter().zip(&weights) {
            acc += Gf256(share[idx]) * *weight;
        }
        *out = acc.0;
    }
    Ok(secret)
}

/// Evaluates every byte's polynomial at each x. `coefficients` holds, per secret byte in order,
/// `a_1..a_{threshold-1}` (the byte itself is `a_0`): the order Vault draws them in, which lets
/// the golden tests replay Vault's randomness and compare shares byte for byte.
fn evaluate_shares(
    secret: &[u8],
    xs: &[u8],
    threshold: usize,
    coefficients: &[u8],
) -> Vec<Zeroizing<Vec<u8>>> {
    let degree = threshold - 1;
    let mut shares: Vec<Zeroizing<Vec<u8>>> = xs
        .iter()
        .map(|&x| {
            let mut share = Zeroizing::new(vec![0u8; secret.len() + SHARE_OVERHEAD]);
            share[secret.len()] = x;
            share
        })
        .collect();
    for (idx, (&intercept, coeffs)) in secret
        .iter()
        .zip(coefficients.chunks_exact(degree))
        .enumerate()
    {
        for (share, &x) in shares.iter_mut().zip(xs) {
            let x = Gf256(x);
            // Horner's rule from a_{t-1} down to a_0.
            let mut y = Gf256(0);
            for &c in coeffs.iter().rev() {
                y = y * x + Gf256(c);
            }
            y = y * x + Gf256(intercept);
            share[idx] = y.0;
        }
    }
    shares
}

/// `w_i = Π_{j≠i} x_j / (x_i + x_j)`, the weight of share `i` when interpolating at x = 0.
/// The x tags must be distinct, so no denominator is zero.
fn lagrange_weights_at_zero(xs: &[Gf256]) -> Vec<Gf256> {
    xs.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let mut num = Gf256(1);
            let mut den = Gf256(1);
            for (j, &xj) in xs.iter().enumerate() {
                if i != j {
                    num *= xj;
                    den *= xi + xj;
                }
            }
            num * invert(den)
        })
        .collect()
}

/// `a^254`, which is `a^-1` for non-zero `a` (the multiplicative group has order 255) and 0 for
/// 0. The exponent is fixed, so the chain of squarings and products never branches on `a`.
fn invert(a: Gf256) -> Gf256 {
    let mut square = a;
    let mut result = Gf256(1);
    // 254 = 2 + 4 + … + 128: multiply in a^2, a^4, …, a^128.
    for _ in 0..7 {
        square = square * square;
        result *= square;
    }
    result
}

/// A uniformly random permutation of `1..=255` (Fisher–Yates), so the first `parts` entries
/// are distinct, non-zero x tags.
fn shuffled_x_coordinates() -> Result<Vec<u8>, ShamirError> {
    let mut xs: Vec<u8> = (1..=u8::MAX).collect();
    let mut rng = RandomBytes::new();
    for i in (1..xs.len()).rev() {
        let j = rng.below(i + 1)?;
        xs.swap(i, j);
    }
    Ok(xs)
}

/// Buffers system randomness so the shuffle does not make one RNG call per swap.
struct RandomBytes {
    buf: [u8; 64],
    pos: usize,
}

impl RandomBytes {
    fn new() -> Self {
        Self {
            buf: [0; 64],
            pos: 64,
        }
    }

    fn next(&mut self) -> Result<u8, ShamirError> {
        if self.pos == self.buf.len() {
            arca_crypto::fill_random(&mut self.buf).map_err(|_| ShamirError::Rng)?;
            self.pos = 0;
        }
        let byte = self.buf[self.pos];
        self.pos += 1;
        Ok(byte)
    }

    /// A uniform value in `0..n` for `1 <= n <= 256`, by rejecting bytes above the largest
    /// multiple of `n` so the modulo has no bias.
    fn below(&mut self, n: usize) -> Result<usize, ShamirError> {
        let zone = 256 - 256 % n;
        loop {
            let byte = usize::from(self.next()?);
            if byte < zone {
                return Ok(byte % n);
            }
        }
    }
}

#[cfg(test)]
mod tests;
