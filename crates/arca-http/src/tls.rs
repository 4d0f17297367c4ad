//! TLS listener configuration with rustls (aws-lc-rs provider), built in one place so a
//! provider change touches only this module.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

/// Lowest or highest TLS version of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// A listener's TLS settings (Vault's `tls_*` listener keys).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// Lowest version accepted (Vault default: TLS 1.2).
    pub min_version: TlsVersion,
    /// Highest version accepted.
    pub max_version: TlsVersion,
    /// CAs that client certificates must chain to, when set.
    pub client_ca_file: Option<PathBuf>,
    /// Refuse clients without a valid certificate.
    pub require_client_cert: bool,
    /// Do not ask clients for certificates at all.
    pub disable_client_certs: bool,
}

/// Why a TLS configuration could not be built. Names files, never key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls rejected the configuration (for example a key that does not match).
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

fn file_err(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))?;
    if certs.is_empty() {
        return Err(file_err(path, "no certificate found"));
    }
    Ok(certs)
}

/// Builds the rustls server configuration of a listener.
pub fn server_config(s: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let certs = load_certs(&s.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&s.key_file)
        .map_err(|_| file_err(&s.key_file, "no valid private key found"))?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        match (s.min_version, s.max_version) {
            (TlsVersion::Tls12, TlsVersion::Tls13) => {
                vec![&rustls::version::TLS13, &rustls::version::TLS12]
            }
            (TlsVersion::Tls12, TlsVersion::Tls12) => vec![&rustls::version::TLS12],
            (TlsVersion::Tls13, TlsVersion::Tls13) => vec![&rustls::version::TLS13],
            (TlsVersion::Tls13, TlsVersion::Tls12) => {
                return Err(TlsError::Config(
                    "tls_min_version is above tls_max_version".into(),
                ));
            }
        };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let verifier: Option<Arc<dyn ClientCertVerifier>> = if s.disable_client_certs {
        None
    } else if let Some(ca) = &s.client_ca_file {
        let mut roots = RootCertStore::empty();
        for cert in load_certs(ca)? {
            roots.add(cert).map_err(|e| file_err(ca, e))?;
        }
        let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
        let b = if s.require_client_cert {
            b
        } else {
            b.allow_unauthenticated()
        };
        Some(b.build().map_err(|e| TlsError::Config(e.to_string()))?)
    } else if s.require_client_cert {
        return Err(TlsError::Config(
            "tls_require_and_verify_client_cert needs tls_client_ca_file".into(),
        ));
    } else {
        // Like Vault: ask for a certificate but let any (or none) through; the cert auth
        // method checks it against its own trusted CAs.
        Some(Arc::new(AnyClientCert {
            provider: Arc::clone(&provider),
        }))
    };
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Requests an optional client certificate and checks only that the client holds its
/// private key (the handshake signature); trust is decided later by cert auth.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
