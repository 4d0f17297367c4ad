//! Encodings shared by the handlers: base64 the way Go decodes it, PEM, Go's time format,
//! and the `vault:v<N>:` envelope.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use zeroize::Zeroizing;

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The prefix of every ciphertext, signature and HMAC transit produces.
pub(crate) const PREFIX: &str = "vault:v";

/// Standard padded base64.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Unpadded URL-safe base64 (JWS signatures).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes caller-supplied base64 (plaintext, input, context) as Go does, with Go's error
/// text. The message names only an offset, never the value.
pub(crate) fn b64_input(s: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    // Go skips CR and LF anywhere in the input.
    let cleaned: Zeroizing<String>;
    let s = if s.contains(['\r', '\n']) {
        cleaned = Zeroizing::new(s.chars().filter(|c| *c != '\r' && *c != '\n').collect());
        cleaned.as_str()
    } else {
        s
    };
    GO_STD.decode(s).map(Zeroizing::new).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => at,
            base64::DecodeError::InvalidLength(len) => len - len % 4,
            base64::DecodeError::InvalidPadding => s.find('=').unwrap_or(s.len()),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

/// Decodes a ciphertext or HMAC body strictly: canonical padded base64 only, so one
/// envelope has exactly one spelling.
pub(crate) fn b64_strict(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Unpadded URL-safe base64, strictly.
pub(crate) fn b64url_strict(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// PEM as Go's `pem.EncodeToMemory` writes it: 64-column lines, a trailing newline.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// PEM of private key material, kept in zeroized memory.
pub(crate) fn pem_secret(label: &str, der: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(pem(label, der))
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_nanos(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Go's `time.RFC3339Nano` in UTC, trailing zeros of the fraction dropped.
pub(crate) fn rfc3339_nanos(nanos: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)) else {
        return String::new();
    };
    let frac = match t.nanosecond() {
        0 => String::new(),
        ns => {
            let digits = format!("{ns:09}");
            format!(".{}", digits.trim_end_matches('0'))
        }
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A key version as written in an envelope: decimal digits without a sign or leading zero,
/// at least 1. Every other spelling (`0`, `00`, `01`, `+1`, ` 1`) is refused so that a
/// version can never be smuggled past `min_decryption_version`.
pub(crate) fn canonical_version(v: &str) -> Option<u32> {
    if v.is_empty() || v.len() > 9 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Splits `vault:v<N>:<body>`; `what` names the thing in errors (`ciphertext`,
/// `signature`, `HMAC`).
pub(crate) fn split_envelope<'a>(s: &'a str, what: &str) -> Result<(u32, &'a str), String> {
    let Some(rest) = s.strip_prefix(PREFIX) else {
        return Err(format!("invalid {what}: no prefix"));
    };
    let Some((ver, body)) = rest.split_once(':') else {
        return Err(format!("invalid {what}: wrong number of fields"));
    };
    match canonical_version(ver) {
        Some(v) => Ok((v, body)),
        None => Err(format!(
            "invalid {what}: version number could not be decoded"
        )),
    }
}

/// `vault:v<N>:`.
pub(crate) fn envelope(ver: u32, body: &str) -> String {
    format!("{PREFIX}{ver}:{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn versions_are_canonical_only() {
        assert_eq!(canonical_version("1"), Some(1));
        assert_eq!(canonical_version("42"), Some(42));
        for bad in [
            "",
            "0",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1x",
            "0x1",
            "9999999999",
        ] {
            assert_eq!(canonical_version(bad), None, "{bad:?}");
        }
        assert_eq!(
            split_envelope("vault:v2:abc", "ciphertext").unwrap(),
            (2, "abc")
        );
        assert_eq!(
            split_envelope("vault:v2", "ciphertext").unwrap_err(),
            "invalid ciphertext: wrong number of fields"
        );
        assert_eq!(
            split_envelope("Vault:v2:x", "ciphertext").unwrap_err(),
            "invalid ciphertext: no prefix"
        );
    }

    #[test]
    fn base64_like_go() {
        assert_eq!(&*b64_input("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(&*b64_input("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(
            b64_input("!!").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert!(b64_input("aGVsbG8").is_err());
        assert!(b64_strict("aGVsbG9=").is_none());
        assert!(b64_input("aGVsbG9=").is_ok());
    }

    #[test]
    fn pem_lines() {
        let p = pem("PUBLIC KEY", &[0u8; 60]);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[3], "-----END PUBLIC KEY-----");
        assert!(p.ends_with('\n'));
        assert_eq!(
            rfc3339_nanos(1_795_821_339_500_000_000),
            "2026-11-27T23:15:39.5Z"
        );
    }
}
