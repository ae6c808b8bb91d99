//! Provision: the administrator's one step that makes a PostgreSQL store secure.
//! With the schema owner's connection string it brings the schema up to date, keeps
//! the tickets' secret where only the owner can read it (a new secret ends every
//! session and every ticket signed with the old one), and leaves the client role
//! nothing but the API functions (`chat1c_private.restrict_to_api`, api.sql).
//! Run again at will: it changes nothing that is already so.

use super::config;
use super::conn::{map_err, Connection};
use super::schema;
use crate::store::StoreError;

/// Why Provision refused its arguments before touching the server.
fn refuse(why: &str) -> StoreError {
    StoreError::CannotProvision(why.to_string())
}

/// Role names as PostgreSQL makes them unquoted, plus '-' and '.' (no quoting games).
fn plain_role(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= 63
        && role
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Provisions the store at `admin_store` for `client_role`; returns the store as shown.
pub fn provision(admin_store: &str, client_role: &str, secret: &str) -> Result<String, StoreError> {
    if !plain_role(client_role) {
        return Err(refuse(
            "the client role must be a plain role name (letters, digits, _ - .)",
        ));
    }
    let (config, tls) = config::parse(admin_store)?;
    let shown = config::display(&config);
    let conn = Connection::open(admin_store.trim(), config, tls)?;
    schema::upgrade(&conn)?;
    let secret = secret.as_bytes();
    conn.alone(async |client| {
        let tx = client.transaction().await.map_err(map_err)?;
        let role = tx
            .query_opt(
                "SELECT rolsuper OR rolbypassrls, rolname = current_user
                   FROM pg_roles WHERE rolname = $1",
                &[&client_role],
            )
            .await
            .map_err(map_err)?;
        match role.map(|r| (r.get::<_, bool>(0), r.get::<_, bool>(1))) {
            None => return Err(refuse("there is no such role on the server")),
            Some((true, _)) => return Err(refuse("the client role is a superuser: it could read everything anyway")),
            Some((_, true)) => return Err(refuse("the client role is the role this connection uses: clients must use a role of their own, not the owner's")),
            Some(_) => {}
        }
        // A new secret starts a new epoch: every session and ticket of the old one ends.
        tx.execute(
            "INSERT INTO chat1c_private.secret AS s(id, secret, epoch, client_role)
                  VALUES (1, $1, 1, $2)
             ON CONFLICT (id) DO UPDATE
                SET epoch = s.epoch + CASE WHEN s.secret = excluded.secret THEN 0 ELSE 1 END,
                    secret = excluded.secret, client_role = excluded.client_role",
            &[&secret, &client_role],
        )
        .await
        .map_err(map_err)?;
        tx.batch_execute(
            "DELETE FROM chat1c_private.sessions
              WHERE epoch <> (SELECT epoch FROM chat1c_private.secret WHERE id = 1);
             SELECT chat1c_private.restrict_to_api();",
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    })?;
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_role_names() {
        for good in ["chat_user", "ЧатПользователь", "chat-user.1"] {
            assert!(plain_role(good), "{good}");
        }
        for bad in [
            "",
            "a\"b",
            "x; DROP TABLE y",
            "a$$b",
            "a b",
            &"r".repeat(64),
        ] {
            assert!(!plain_role(bad), "{bad}");
        }
    }
}
