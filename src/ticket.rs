//! Tickets: the identity a 1C server hands its clients. The server module attaches the
//! add-in, reads the secret from its secure storage and calls IssueTicket; the client
//! passes the ticket to Open; a provisioned PostgreSQL store checks it on the server
//! (api.sql, `chat1c_private.ticket_user`). The secret never reaches a client.
//!
//! A ticket is `c1t1.<payload>.<mac>`: the payload is base64url JSON
//! `{"u": user, "iat": seconds, "exp": seconds}`, the mac is base64url
//! HMAC-SHA256(secret, "c1t1." + payload).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

/// The shortest secret accepted, in bytes of UTF-8.
pub const SECRET_MIN_BYTES: usize = 16;
/// The longest lifetime a ticket may be given, in minutes (30 days).
pub const MINUTES_MAX: i64 = 43_200;
const PREFIX: &str = "c1t1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketError {
    /// The secret is shorter than [`SECRET_MIN_BYTES`].
    WeakSecret,
}

/// Checks a secret before it is used to sign or stored on a server.
pub fn check_secret(secret: &str) -> Result<(), TicketError> {
    if secret.len() < SECRET_MIN_BYTES {
        return Err(TicketError::WeakSecret);
    }
    Ok(())
}

/// A ticket for `user` (already in its shown form), valid `minutes` from `now_secs`.
pub fn issue(secret: &str, user: &str, minutes: i64, now_secs: i64) -> Result<String, TicketError> {
    check_secret(secret)?;
    let payload = serde_json::json!({
        "u": user,
        "iat": now_secs,
        "exp": now_secs + minutes * 60,
    });
    let signed = format!(
        "{PREFIX}.{}",
        URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mac = hmac::sign(&key, signed.as_bytes());
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "correct horse battery staple";

    /// What the server does (api.sql), here to pin the format down.
    fn verify(secret: &str, ticket: &str, now: i64) -> Option<String> {
        let parts: Vec<&str> = ticket.split('.').collect();
        let [prefix, payload, mac] = parts[..] else {
            return None;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        hmac::verify(&key, format!("{prefix}.{payload}").as_bytes(), &mac).ok()?;
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (json["exp"].as_i64()? > now).then(|| json["u"].as_str().map(str::to_string))?
    }

    #[test]
    fn a_ticket_names_its_user_until_it_expires() {
        let t = issue(SECRET, "Иванов Иван", 10, 1_000).unwrap();
        assert!(t.starts_with("c1t1."));
        assert_eq!(verify(SECRET, &t, 1_000).as_deref(), Some("Иванов Иван"));
        assert_eq!(verify(SECRET, &t, 1_599), Some("Иванов Иван".into()));
        assert_eq!(verify(SECRET, &t, 1_600), None, "expired");
        assert_eq!(verify("another secret, long one", &t, 1_000), None);
        let forged = t.replace("c1t1.", "c1t1.e30");
        assert_eq!(verify(SECRET, &forged, 1_000), None);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(issue("short", "a", 1, 0), Err(TicketError::WeakSecret));
        assert_eq!(check_secret(&"x".repeat(SECRET_MIN_BYTES)), Ok(()));
    }
}
