//! First start: create the admin user when the database has none.

use chrono::Utc;
use secrecy::ExposeSecret;
use tandem_domain::user::{NewUser, Role, validate_password};
use tandem_store::Store;

use crate::credentials as auth;
use crate::settings::Settings;

/// What `ensure_admin` did.
#[derive(Debug)]
pub enum AdminBootstrap {
    /// Users already exist; nothing was done.
    Existing,
    /// The admin was created with the configured password.
    CreatedWithConfiguredPassword { username: String },
    /// The admin was created with this generated password (print it once).
    CreatedWithGeneratedPassword { username: String, password: String },
}

/// Creates the first admin when the database has no users.
pub async fn ensure_admin(store: &Store, settings: &Settings) -> anyhow::Result<AdminBootstrap> {
    if store.count_users().await? > 0 {
        return Ok(AdminBootstrap::Existing);
    }
    let username = settings.auth.admin_username.clone();
    let (password, generated) = match &settings.auth.admin_password {
        Some(p) => {
            validate_password(p.expose_secret())
                .map_err(|e| anyhow::anyhow!("auth.admin_password: {e}"))?;
            (p.expose_secret().to_owned(), false)
        }
        None => (auth::new_password()?, true),
    };
    let user = NewUser {
        username: username.clone(),
        display_name: Some("Administrator".into()),
        email: None,
        role: Role::Admin,
    }
    .into_user(uuid::Uuid::now_v7(), Utc::now())
    .map_err(|e| anyhow::anyhow!("auth.admin_username: {e}"))?;
    let hash = auth::hash_password(&password)?;
    store.create_user(&user, &hash).await?;
    Ok(if generated {
        AdminBootstrap::CreatedWithGeneratedPassword { username, password }
    } else {
        AdminBootstrap::CreatedWithConfiguredPassword { username }
    })
}
