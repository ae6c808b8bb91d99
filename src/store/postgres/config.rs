//! A PostgreSQL Store string: recognising one, parsing it (with libpq's sslmode
//! values), showing it without its password, and the TLS settings it asks for.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Config;

use super::CONNECT_TIMEOUT;
use crate::store::StoreError;

/// libpq's connection keywords: any of them as `key=value` makes a Store string a
/// connection string (never a file name).
const LIBPQ_KEYWORDS: [&str; 41] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "requiressl",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

/// True when a Store string names a PostgreSQL server rather than a file: a URL, or
/// any libpq keyword as `key=value` (in any order, spaces allowed around `=`). A
/// string that mentions `password=` anywhere is never taken for a file name.
pub fn is_postgres(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return true;
    }
    if lower.contains("password=") || lower.contains("password =") {
        return true;
    }
    lower.split_whitespace().enumerate().any(|(i, word)| {
        LIBPQ_KEYWORDS.iter().any(|k| match word.strip_prefix(k) {
            // "host=db" in one word, or "host" followed by a word starting with "=".
            Some(rest) => {
                rest.starts_with('=')
                    || (rest.is_empty()
                        && lower
                            .split_whitespace()
                            .nth(i + 1)
                            .is_some_and(|next| next.starts_with('=')))
            }
            None => false,
        })
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Off,
    /// Encrypt without checking the certificate (libpq's `require` / `prefer`).
    Encrypt,
    /// Encrypt and verify the server against the Mozilla roots (`verify-ca`, `verify-full`).
    Verify,
}

/// libpq's sslmode values that tokio-postgres does not parse are mapped here.
pub fn parse(location: &str) -> Result<(Config, Tls), StoreError> {
    let mut text = location.trim().to_string();
    let mut tls = None;
    for mode in ["verify-full", "verify-ca"] {
        let needle = format!("sslmode={mode}");
        if text.contains(&needle) {
            text = text.replace(&needle, "sslmode=require");
            tls = Some(Tls::Verify);
        }
    }
    let mut config: Config = text.parse().map_err(|e: tokio_postgres::Error| {
        StoreError::CannotOpen(format!("invalid connection string: {e}"))
    })?;
    let tls = tls.unwrap_or(match config.get_ssl_mode() {
        tokio_postgres::config::SslMode::Disable => Tls::Off,
        _ => Tls::Encrypt,
    });
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .tcp_user_timeout(Duration::from_secs(15));
    if config.get_application_name().is_none() {
        config.application_name("chat1c");
    }
    Ok((config, tls))
}

/// A connection string as texts show it (see [`display`]); unparsable ones are not echoed.
pub fn shown(location: &str) -> String {
    parse(location).map_or_else(
        |_| "postgresql://(invalid connection string)".into(),
        |(c, _)| display(&c),
    )
}

/// What the Store property shows: the server and database, never the password.
pub fn display(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgresql://{user}{host}:{port}/{db}")
}

pub fn rustls_config(tls: Tls) -> Result<rustls::ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        key_provider: &NoClientKeys,
        ..rustls::crypto::ring::default_provider()
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::CannotOpen(e.to_string()))?;
    let config = if tls == Tls::Verify {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// chat1c presents no client certificate (`with_no_client_auth`), so it loads no private
/// key: without ring's key loader the linker drops ring's RSA/ECDSA/Ed25519 signing.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General("no client certificates".into()))
    }
}

/// libpq's `require`: the channel is encrypted, the certificate is not checked.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_connection_strings() {
        assert!(is_postgres("postgresql://u:p@db/chat"));
        assert!(is_postgres("postgres://db"));
        assert!(is_postgres(
            "host=db dbname=chat user=u password=secret sslmode=require"
        ));
        assert!(!is_postgres("/var/tmp/chat1c/chat.sqlite"));
        assert!(!is_postgres("C:\\chat\\host=x.sqlite"));
        assert!(!is_postgres(""));
        // Any keyword, in any order; spaces around "=".
        assert!(is_postgres("password=S3cret host=db dbname=chat"));
        assert!(is_postgres("dbname=chat"));
        assert!(is_postgres("sslmode=require  host = db"));
        assert!(is_postgres("service=chat"));
        // A password never makes a file name, wherever it stands.
        assert!(is_postgres("/tmp/x password=1"));
        assert!(is_postgres("C:\\chat\\password=1.db"));
        assert!(!is_postgres("/tmp/hostel=1/chat.sqlite"));
    }

    #[test]
    fn the_shown_location_has_no_password() {
        let (c, tls) =
            parse("postgresql://ann:s3cret@db.local:6432/chat?sslmode=verify-full").unwrap();
        assert_eq!(display(&c), "postgresql://ann@db.local:6432/chat");
        assert!(tls == Tls::Verify);
        let (c, tls) = parse("host=h dbname=d user=u password=s3cret sslmode=disable").unwrap();
        assert_eq!(display(&c), "postgresql://u@h:5432/d");
        assert!(tls == Tls::Off);
        assert!(parse("host=h sslmode=bogus").is_err());
    }
}
