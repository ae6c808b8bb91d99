//! TLS for tokio-postgres over rustls: what the crate tokio-postgres-rustls 0.14 did, with its
//! behaviour kept, but without its X.509 parser (x509-cert, der, spki, const-oid) and the
//! second SHA-2 implementation (sha2's SHA-384/512), which cost 0.07 MB of the binary. The
//! channel binding (RFC 5929 tls-server-end-point, for SCRAM-SHA-256-PLUS) needs only the
//! certificate's signature algorithm: a few DER headers read here, and ring's digests.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ring::digest;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_postgres::Socket;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Makes a TLS connector per connection attempt (one server name each).
pub struct MakeRustlsConnect(Arc<rustls::ClientConfig>);

impl MakeRustlsConnect {
    pub fn new(config: rustls::ClientConfig) -> Self {
        MakeRustlsConnect(Arc::new(config))
    }
}

impl MakeTlsConnect<Socket> for MakeRustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            hostname: hostname.to_owned(),
            connector: TlsConnector::from(self.0.clone()),
        })
    }
}

pub struct RustlsConnect {
    hostname: String,
    connector: TlsConnector,
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Connecting;

    fn connect(self, stream: Socket) -> Connecting {
        Box::pin(async move {
            let name = ServerName::try_from(self.hostname)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            self.connector.connect(name, stream).await.map(RustlsStream)
        })
    }
}

pub struct RustlsStream(TlsStream<Socket>);

impl tokio_postgres::tls::TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        match session.peer_certificates() {
            Some([cert, ..]) => match end_point_digest(cert) {
                Some(algorithm) => ChannelBinding::tls_server_end_point(
                    digest::digest(algorithm, cert).as_ref().to_vec(),
                ),
                None => ChannelBinding::none(),
            },
            _ => ChannelBinding::none(),
        }
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The hash of tls-server-end-point for a DER certificate: the hash of its signature
/// algorithm, SHA-1 upgraded to SHA-256 (RFC 5929 §4.1). The algorithms mapped are
/// tokio-postgres-rustls 0.14's; the others (Ed25519, RSA-PSS, ECDSA with SHA-512, …) and a
/// certificate that is not DER give no channel binding, as there.
fn end_point_digest(cert: &[u8]) -> Option<&'static digest::Algorithm> {
    // id-sha1, id-sha256/384/512, sha1/256/384/512WithRSAEncryption, ecdsa-with-SHA256/384:
    // the DER contents of each OBJECT IDENTIFIER.
    const SHA256: [&[u8]; 5] = [
        &[0x2b, 0x0e, 0x03, 0x02, 0x1a],
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    ];
    const SHA384: [&[u8]; 3] = [
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
    ];
    const SHA512: [&[u8]; 2] = [
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d],
    ];
    let oid = signature_algorithm(cert)?;
    if SHA256.contains(&oid) {
        Some(&digest::SHA256)
    } else if SHA384.contains(&oid) {
        Some(&digest::SHA384)
    } else if SHA512.contains(&oid) {
        Some(&digest::SHA512)
    } else {
        None
    }
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

/// The OID of `Certificate.signatureAlgorithm` (RFC 5280 §4.1): the certificate is one
/// SEQUENCE of the to-be-signed SEQUENCE, the AlgorithmIdentifier SEQUENCE (its OID first)
/// and the signature.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    let (certificate, rest) = der_element(cert, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (_to_be_signed, rest) = der_element(certificate, SEQUENCE)?;
    let (algorithm, _signature) = der_element(rest, SEQUENCE)?;
    let (oid, _parameters) = der_element(algorithm, OID)?;
    Some(oid)
}

/// Splits one DER element with `tag` off the front of `input`: (its contents, what follows).
/// Definite lengths only, in their shortest form, as DER requires.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, mut rest) = rest.split_first()?;
    let len = if len_byte < 0x80 {
        usize::from(len_byte)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count || rest[0] == 0 {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &b| len << 8 | usize::from(b));
        if len < 0x80 {
            return None;
        }
        rest = &rest[count..];
        len
    };
    (len <= rest.len()).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element: tag, length, contents.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    /// A certificate's outline: a to-be-signed part of `tbs_len` bytes, the algorithm
    /// (`oid` then NULL parameters) and a signature.
    fn cert(oid: &[u8], tbs_len: usize) -> Vec<u8> {
        let tbs = tlv(SEQUENCE, &vec![0x02; tbs_len]);
        let algorithm = tlv(SEQUENCE, &[tlv(OID, oid), vec![0x05, 0x00]].concat());
        let signature = tlv(0x03, &[0x00, 0xaa, 0xbb]);
        tlv(SEQUENCE, &[tbs, algorithm, signature].concat())
    }

    fn oid_bytes(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut out = Vec::new();
        for arc in [arcs[0] * 40 + arcs[1]].iter().chain(&arcs[2..]).copied() {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push((rest & 0x7f) as u8 | 0x80);
                rest >>= 7;
            }
            out.extend(groups.iter().rev());
        }
        out
    }

    #[test]
    fn the_algorithms_of_tokio_postgres_rustls() {
        let sha256 = Some(digest::SHA256.output_len());
        let sha384 = Some(digest::SHA384.output_len());
        let sha512 = Some(digest::SHA512.output_len());
        for (oid, want) in [
            ("1.3.14.3.2.26", sha256),          // id-sha1
            ("2.16.840.1.101.3.4.2.1", sha256), // id-sha256
            ("1.2.840.113549.1.1.5", sha256),   // sha1WithRSAEncryption
            ("1.2.840.113549.1.1.11", sha256),  // sha256WithRSAEncryption
            ("1.2.840.10045.4.3.2", sha256),    // ecdsa-with-SHA256
            ("2.16.840.1.101.3.4.2.2", sha384), // id-sha384
            ("1.2.840.113549.1.1.12", sha384),  // sha384WithRSAEncryption
            ("1.2.840.10045.4.3.3", sha384),    // ecdsa-with-SHA384
            ("2.16.840.1.101.3.4.2.3", sha512), // id-sha512
            ("1.2.840.113549.1.1.13", sha512),  // sha512WithRSAEncryption
            ("1.2.840.10045.4.3.4", None),      // ecdsa-with-SHA512
            ("1.3.101.112", None),              // Ed25519
            ("1.2.840.113549.1.1.10", None),    // RSASSA-PSS
            ("1.2.840.113549.1.1.4", None),     // md5WithRSAEncryption
        ] {
            for tbs_len in [10, 200, 1000] {
                let got = end_point_digest(&cert(&oid_bytes(oid), tbs_len)).map(|a| a.output_len());
                assert_eq!(got, want, "{oid}, {tbs_len}");
            }
        }
    }

    #[test]
    fn what_is_not_a_certificate_has_no_binding() {
        let good = cert(&oid_bytes("1.2.840.113549.1.1.11"), 300);
        assert!(end_point_digest(&good).is_some());
        assert!(end_point_digest(&[]).is_none());
        assert!(
            end_point_digest(&good[..good.len() - 1]).is_none(),
            "cut short"
        );
        assert!(
            end_point_digest(&[&good[..], &[0]].concat()).is_none(),
            "trailing byte"
        );
        for cut in 0..good.len() {
            let _ = end_point_digest(&good[..cut]);
        }
        let mut wrong_tag = good.clone();
        wrong_tag[0] = 0x31;
        assert!(end_point_digest(&wrong_tag).is_none());
        // A long form where the short one fits is not DER.
        let long_form = [&[SEQUENCE, 0x81, 0x05][..], &[0; 5]].concat();
        assert!(der_element(&long_form, SEQUENCE).is_none());
        assert_eq!(
            der_element(&[SEQUENCE, 0x02, 1, 2, 3], SEQUENCE),
            Some((&[1u8, 2][..], &[3u8][..]))
        );
    }
}
