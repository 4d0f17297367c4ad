//! What cert auth reads from certificates and CRLs, parsed once with `x509-parser`.

use std::collections::BTreeMap;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::num_bigint::BigUint;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// DER certificates from PEM text (`CERTIFICATE` or `TRUSTED CERTIFICATE` blocks without
/// headers), skipping blocks that do not parse, as Go's `parsePEM` does.
pub(crate) fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .map_while(Result::ok)
        .filter(|p| p.label == "CERTIFICATE" || p.label == "TRUSTED CERTIFICATE")
        .filter(|p| X509Certificate::from_der(&p.contents).is_ok())
        .map(|p| p.contents)
        .collect()
}

/// A serial number (the DER INTEGER's content bytes) in decimal, as Go's
/// `big.Int.String()` prints a positive serial.
pub(crate) fn serial_decimal(raw: &[u8]) -> String {
    BigUint::from_bytes_be(raw).to_string()
}

/// Bytes as lower-case colon-separated hex (`cd:98:...`), Vault's `GetHexFormatted`.
pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A DER-encoded ASN.1 string (UTF8, Printable, IA5, Numeric, T61, Visible) as text; ""
/// for anything else, as Go's `asn1.Unmarshal` into a string leaves it.
pub(crate) fn asn1_string(der: &[u8]) -> String {
    let Some((&tag, rest)) = der.split_first() else {
        return String::new();
    };
    if !matches!(tag, 0x0c | 0x12 | 0x13 | 0x14 | 0x16 | 0x1a) {
        return String::new();
    }
    let Some((&len0, rest)) = rest.split_first() else {
        return String::new();
    };
    let (len, body) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return String::new();
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if body.len() != len {
        return String::new();
    }
    String::from_utf8(body.to_vec()).unwrap_or_default()
}

/// The facts about a client certificate that constraints and metadata use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LeafInfo {
    /// The last common name of the subject (Go's `Subject.CommonName`).
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    pub organizational_units: Vec<String>,
    /// Extension OID (dotted) → its value decoded as an ASN.1 string ("" if not one).
    pub extensions: BTreeMap<String, String>,
    pub serial_decimal: String,
    pub subject_key_id: Vec<u8>,
    pub authority_key_id: Vec<u8>,
    pub is_ca: bool,
    /// Whether the extended key usages (if any) allow client authentication.
    pub client_auth_usage: bool,
    /// Validity window, Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

/// Parses a DER certificate; `None` if it is not one.
pub(crate) fn leaf_info(der: &[u8]) -> Option<LeafInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut info = LeafInfo {
        common_name: cert
            .subject()
            .iter_common_name()
            .filter_map(|a| a.as_str().ok())
            .last()
            .unwrap_or_default()
            .to_owned(),
        organizational_units: cert
            .subject()
            .iter_organizational_unit()
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect(),
        serial_decimal: serial_decimal(cert.raw_serial()),
        is_ca: cert.is_ca(),
        client_auth_usage: true,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        ..LeafInfo::default()
    };
    for ext in cert.extensions() {
        info.extensions
            .insert(ext.oid.to_id_string(), asn1_string(ext.value));
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(s) => info.dns_names.push((*s).to_owned()),
                        GeneralName::RFC822Name(s) => info.emails.push((*s).to_owned()),
                        GeneralName::URI(s) => info.uris.push((*s).to_owned()),
                        _ => {}
                    }
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => info.subject_key_id = k.0.to_vec(),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                if let Some(k) = &a.key_identifier {
                    info.authority_key_id = k.0.to_vec();
                }
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                info.client_auth_usage = eku.client_auth || eku.any;
            }
            _ => {}
        }
    }
    Some(info)
}

/// The revoked serial numbers (decimal) of a CRL given as PEM (`X509 CRL`) or as
/// base64 DER; `None` if it is neither.
pub(crate) fn crl_serials(text: &str) -> Option<Vec<String>> {
    let der = match x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()).next() {
        Some(Ok(p)) if p.label == "X509 CRL" => p.contents,
        Some(_) => return None,
        None => {
            use base64::Engine;
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?
        }
    };
    let (_, crl) = CertificateRevocationList::from_der(&der).ok()?;
    Some(
        crl.iter_revoked_certificates()
            .map(|r| serial_decimal(r.raw_serial()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(serial_decimal(&[0x00, 0x01, 0x00]), "256");
        assert_eq!(serial_decimal(&[]), "0");
        assert_eq!(colon_hex(&[0xcd, 0x98, 0x01]), "cd:98:01");
        assert_eq!(asn1_string(&[0x0c, 0x03, b'a', b'b', b'c']), "abc");
        assert_eq!(asn1_string(&[0x13, 0x02, b'o', b'k']), "ok");
        assert_eq!(asn1_string(&[0x04, 0x01, 0x00]), "");
        assert_eq!(asn1_string(&[0x0c, 0x05, b'a']), "");
        let mut long = vec![0x0c, 0x81, 200];
        long.extend(std::iter::repeat_n(b'x', 200));
        assert_eq!(asn1_string(&long).len(), 200);
        assert!(pem_certificates("not pem").is_empty());
        assert!(crl_serials("not a crl").is_none());
    }
}
