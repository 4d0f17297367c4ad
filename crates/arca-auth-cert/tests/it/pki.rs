//! Test certificates: a root CA, an intermediate, client leaves with every kind of name,
//! and CRLs, all valid around the test clock.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::T0;

pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0).unwrap()
}

/// A CA able to sign leaves and CRLs.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn pem(&self) -> String {
        self.issuer.as_ref().pem()
    }
    pub fn der(&self) -> Vec<u8> {
        self.issuer.as_ref().der().to_vec()
    }
}

fn ca_params(cn: &str, serial: u64) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = t0() - Duration::days(365);
    p.not_after = t0() + Duration::days(3650);
    p.serial_number = Some(SerialNumber::from(serial));
    p.key_identifier_method = KeyIdMethod::Sha256;
    p
}

/// A self-signed root.
pub fn root(cn: &str, serial: u64) -> Ca {
    Ca {
        issuer: CertifiedIssuer::self_signed(ca_params(cn, serial), KeyPair::generate().unwrap())
            .unwrap(),
    }
}

/// An intermediate signed by `parent`.
pub fn intermediate(parent: &Ca, cn: &str, serial: u64) -> Ca {
    Ca {
        issuer: CertifiedIssuer::signed_by(
            ca_params(cn, serial),
            KeyPair::generate().unwrap(),
            &parent.issuer,
        )
        .unwrap(),
    }
}

/// What goes into a client certificate.
pub struct Leaf {
    pub cn: &'static str,
    pub serial: u64,
    pub dns: Vec<&'static str>,
    pub emails: Vec<&'static str>,
    pub uris: Vec<&'static str>,
    pub ous: Vec<&'static str>,
    /// (OID, UTF8String value).
    pub extensions: Vec<(&'static [u64], &'static str)>,
    pub usages: Vec<ExtendedKeyUsagePurpose>,
    pub days_valid: i64,
}

impl Default for Leaf {
    fn default() -> Self {
        Leaf {
            cn: "web01.example.com",
            serial: 0x0123_4567_89ab,
            dns: vec!["web01.example.com"],
            emails: vec![],
            uris: vec![],
            ous: vec![],
            extensions: vec![],
            usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
            days_valid: 30,
        }
    }
}

/// DER-encodes a UTF8String.
fn utf8_string(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c, u8::try_from(s.len()).unwrap()];
    v.extend_from_slice(s.as_bytes());
    v
}

/// A client certificate for `leaf`, signed by `ca`; returns (DER, PEM).
pub fn issue(ca: &Ca, leaf: &Leaf) -> (Vec<u8>, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, leaf.cn);
    for ou in &leaf.ous {
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, *ou);
    }
    for d in &leaf.dns {
        p.subject_alt_names
            .push(SanType::DnsName((*d).try_into().unwrap()));
    }
    for e in &leaf.emails {
        p.subject_alt_names
            .push(SanType::Rfc822Name((*e).try_into().unwrap()));
    }
    for u in &leaf.uris {
        p.subject_alt_names
            .push(SanType::URI((*u).try_into().unwrap()));
    }
    for (oid, value) in &leaf.extensions {
        p.custom_extensions
            .push(CustomExtension::from_oid_content(oid, utf8_string(value)));
    }
    // A subject key identifier (rcgen writes one only for CAs).
    p.custom_extensions.push(CustomExtension::from_oid_content(
        &[2, 5, 29, 14],
        vec![0x04, 0x04, 0xcd, 0x98, 0xab, 0x01],
    ));
    p.extended_key_usages = leaf.usages.clone();
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.serial_number = Some(SerialNumber::from(leaf.serial));
    p.not_before = t0() - Duration::days(1);
    p.not_after = t0() + Duration::days(leaf.days_valid);
    let cert = p
        .signed_by(&KeyPair::generate().unwrap(), &ca.issuer)
        .unwrap();
    (cert.der().to_vec(), cert.pem())
}

/// A self-signed client certificate (trusted by nobody).
pub fn self_signed_leaf(cn: &str) -> (Vec<u8>, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![cn.to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.self_signed(&key).unwrap();
    (cert.der().to_vec(), cert.pem())
}

/// A PEM CRL from `ca` revoking `serials`.
pub fn crl(ca: &Ca, serials: &[u64]) -> String {
    CertificateRevocationListParams {
        this_update: t0() - Duration::hours(1),
        next_update: t0() + Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: t0() - Duration::hours(2),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca.issuer)
    .unwrap()
    .pem()
    .unwrap()
}
