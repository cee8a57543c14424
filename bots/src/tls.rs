//! TLS for bots talking to `wss://` servers: the public web roots, plus any extra root
//! certificates trusted with [`trust_pem`] (a self-signed test or staging certificate).

use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

static EXTRA_ROOTS: Mutex<Vec<CertificateDer<'static>>> = Mutex::new(Vec::new());
static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Trusts the PEM certificates in `pem` as roots. Call before the first TLS connection.
pub fn trust_pem(pem: &[u8]) -> anyhow::Result<()> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .context("parsing PEM certificates")?;
    EXTRA_ROOTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(certs);
    Ok(())
}

/// The client configuration every bot shares.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            for cert in EXTRA_ROOTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter()
            {
                // A certificate that is not a valid root is simply not trusted.
                let _ = roots.add(cert.clone());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// Opens a TLS connection to `host` (`name:port`).
pub async fn connect(host: &str) -> anyhow::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(host).await.with_context(|| format!("connecting to {host}"))?;
    let name = host
        .rsplit_once(':')
        .map_or(host, |(name, _)| name)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let server_name = ServerName::try_from(name.to_string())
        .with_context(|| format!("bad server name {name}"))?;
    TlsConnector::from(client_config())
        .connect(server_name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {host}"))
}
