//! The API's certificate: the one clp.conf names, or one generated at the
//! first start and kept (key 0600) in `etc/clp/tls/` under the root, reused
//! afterwards so that clients can pin it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{ClpError, Result};
use crate::model::RestSettings;
use crate::paths::Paths;

/// The generated certificate (PEM), readable by everyone: clients trust it.
pub const GENERATED_CERT: &str = "clpd-api.crt";
/// Its private key (PEM), 0600.
pub const GENERATED_KEY: &str = "clpd-api.key";

/// Where a generated certificate is kept: `etc/clp/tls/` (0700).
pub fn generated_dir(paths: &Paths) -> PathBuf {
    paths.config_dir().join("tls")
}

/// The certificate and key files to serve: configured, or generated now
/// when none exist yet.
pub fn certificate_files(
    paths: &Paths,
    settings: &RestSettings,
    server: &str,
) -> Result<(PathBuf, PathBuf)> {
    if let Some(configured) = &settings.certificate {
        let place = |p: &Path| crate::host::under_root(paths, &p.to_string_lossy());
        return Ok((place(&configured.cert), place(&configured.key)));
    }
    let dir = generated_dir(paths);
    let (cert, key) = (dir.join(GENERATED_CERT), dir.join(GENERATED_KEY));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    crate::fsafe::private_dir(&dir, 0o700)?;
    let (cert_pem, key_pem) = generate(server)?;
    // The key first: a certificate without its key would be reused and fail.
    crate::fsafe::write_file_atomically(&key, key_pem.as_bytes(), 0o600, true)?;
    crate::fsafe::write_file_atomically(&cert, cert_pem.as_bytes(), 0o644, true)?;
    tracing::info!(target: "rest", "generated a certificate for the REST API in {}", cert.display());
    Ok((cert, key))
}

/// A self-signed certificate for `server` (its name, `localhost` and the
/// loopback addresses), PEM certificate and key.
pub fn generate(server: &str) -> Result<(String, String)> {
    let mut names = vec![server.to_string(), "localhost".into()];
    names.dedup();
    let mut params = rcgen::CertificateParams::new(names)
        .map_err(|e| ClpError::failed(format!("cannot make a certificate for {server}: {e}")))?;
    for ip in ["127.0.0.1", "::1"] {
        if let Ok(ip) = ip.parse() {
            params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
        }
    }
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("clpd {server}"));
    // Ten years: a kept self-signed certificate is pinned, not renewed.
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let key = rcgen::KeyPair::generate()
        .map_err(|e| ClpError::failed(format!("cannot generate a key: {e}")))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| ClpError::failed(format!("cannot sign a certificate: {e}")))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The TLS configuration serving `cert` with `key` (PEM files).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let bad = |path: &Path, what: &str, e: &dyn std::fmt::Display| {
        ClpError::config(format!(
            "{}: {what}: {e}; name a PEM file in rstd/certfile and rstd/keyfile, or remove both to use a generated certificate",
            path.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, "cannot read the certificate", &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(cert, "cannot read the certificate", &e))?;
    if chain.is_empty() {
        return Err(bad(cert, "no certificate", &"the file holds none"));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, "cannot read the key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClpError::failed(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad(key, "the key does not fit the certificate", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
