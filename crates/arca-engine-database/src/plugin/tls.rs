//! rustls client configurations for the database connections, built in one place so a
//! provider change touches only this module. The provider is aws-lc-rs, as everywhere else.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::DbError;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (libpq's `sslmode=require` without a CA, `tls_skip_verify`,
    /// `insecure_tls`).
    Nothing,
    /// The chain up to the given CA, not the host name (`verify-ca`).
    Chain,
    /// Chain and host name (`verify-full`, the default when a CA is given).
    Full,
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Certificates from PEM text.
pub fn certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, DbError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    let certs = certs.map_err(|_| DbError::config("TLS certificate PEM could not be parsed"))?;
    if certs.is_empty() {
        return Err(DbError::config("TLS certificate PEM has no certificate"));
    }
    Ok(certs)
}

/// A client configuration. `ca_pem` are the trusted roots (none: nothing can be verified,
/// so only [`Verify::Nothing`] works); `identity` is a client certificate chain and key.
pub fn client_config(
    ca_pem: Option<&str>,
    verify: Verify,
    identity: Option<(&str, &str)>,
) -> Result<Arc<ClientConfig>, DbError> {
    let provider = provider();
    let inner = match (verify, ca_pem) {
        (Verify::Nothing, _) => None,
        (_, None) => {
            return Err(DbError::config(
                "certificate verification needs a CA certificate (tls_ca / sslrootcert)",
            ));
        }
        (_, Some(pem)) => {
            let mut roots = RootCertStore::empty();
            for c in certs(pem)? {
                roots
                    .add(c)
                    .map_err(|_| DbError::config("TLS CA certificate is invalid"))?;
            }
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|_| DbError::config("TLS CA certificate is invalid"))?,
            )
        }
    };
    let verifier = Arc::new(Verifier {
        inner,
        check_name: verify == Verify::Full,
        provider: Arc::clone(&provider),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| DbError::config("TLS configuration failed"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|_| DbError::config("TLS private key PEM could not be parsed"))?;
            builder
                .with_client_auth_cert(certs(cert_pem)?, key)
                .map_err(|_| DbError::config("TLS client certificate and key do not match"))?
        }
    };
    Ok(Arc::new(config))
}

/// WebPKI verification with the host-name check optional, or no verification at all.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(v) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(ok) => Ok(ok),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
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
