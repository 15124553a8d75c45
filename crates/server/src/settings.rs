//! Settings: defaults in code → `tandem.toml` → `TANDEM_*` environment
//! (`__` for nesting, e.g. `TANDEM_DATABASE__URL`) → `TANDEM_…_FILE`
//! variables whose file holds a secret. Merged once into one typed value.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The commented example printed by `tandem default-config`.
pub const DEFAULT_CONFIG: &str = include_str!("../tandem.example.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://tandem.db` (default) or `postgres://user@host/db`.
    #[serde(serialize_with = "redact")]
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// The address people use to reach Tandem; `https://…` makes session
    /// cookies `Secure`.
    pub public_url: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Password for the first admin, used only when the database has no
    /// users. When unset a random one is generated and printed once.
    #[serde(default, serialize_with = "redact_opt")]
    pub admin_password: Option<SecretString>,
    pub admin_username: String,
    pub session_ttl_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `tandem=debug,sqlx=warn`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

fn redact<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

fn redact_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("[redacted]"),
        None => s.serialize_none(),
    }
}

/// Plain defaults, serialisable for figment (secrets as plain strings here
/// because they are not secret yet).
#[derive(Serialize)]
struct Defaults {
    database: DefaultDatabase,
    server: ServerSettings,
    auth: DefaultAuth,
    log: LogSettings,
}

#[derive(Serialize)]
struct DefaultDatabase {
    url: &'static str,
    max_connections: u32,
}

#[derive(Serialize)]
struct DefaultAuth {
    admin_username: &'static str,
    session_ttl_hours: u32,
}

fn defaults() -> Defaults {
    Defaults {
        database: DefaultDatabase {
            url: "sqlite://tandem.db",
            max_connections: 10,
        },
        server: ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".to_owned(),
            body_limit_bytes: 1024 * 1024,
        },
        auth: DefaultAuth {
            admin_username: "admin",
            session_ttl_hours: 12,
        },
        log: LogSettings {
            format: LogFormat::Text,
            level: "info".to_owned(),
        },
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: cannot read secret file {path} named by {var}: {source}")]
    SecretFile {
        var: String,
        path: String,
        source: std::io::Error,
    },
}

impl Settings {
    /// Loads settings from defaults, an optional TOML file (it must exist when
    /// named explicitly; `./tandem.toml` is read when present), and the
    /// process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &vars)
    }

    /// As [`Settings::load`] with an explicit environment, for tests.
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, SettingsError> {
        let mut fig = Figment::from(Serialized::defaults(defaults()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError::Invalid(format!(
                        "the configuration file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("tandem.toml")),
        }
        // Environment: TANDEM_SECTION__KEY. `_FILE` variants are read below.
        let plain: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k.starts_with("TANDEM_") && !k.ends_with("_FILE"))
            .cloned()
            .collect();
        for (key, value) in plain {
            if let Some(path) = env_key_to_path(&key) {
                fig = fig.merge(Serialized::global(&path, value));
            }
        }
        for (key, file_path) in env
            .iter()
            .filter(|(k, _)| k.starts_with("TANDEM_") && k.ends_with("_FILE"))
        {
            let var = key.trim_end_matches("_FILE");
            let Some(path) = env_key_to_path(var) else {
                continue;
            };
            let value =
                std::fs::read_to_string(file_path).map_err(|source| SettingsError::SecretFile {
                    var: key.clone(),
                    path: file_path.clone(),
                    source,
                })?;
            fig = fig.merge(Serialized::global(
                &path,
                value.trim_end_matches(['\n', '\r']).to_owned(),
            ));
        }
        let settings: Settings = fig
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.database.max_connections == 0 {
            return Err(SettingsError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(SettingsError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        if self.auth.session_ttl_hours == 0 {
            return Err(SettingsError::Invalid(
                "auth.session_ttl_hours must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// True when session cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.server.public_url.starts_with("https://")
    }
}

/// `TANDEM_DATABASE__URL` → `database.url`. Variables without a section
/// (`TANDEM_FOO`) are not settings and are ignored.
fn env_key_to_path(key: &str) -> Option<String> {
    let rest = key.strip_prefix("TANDEM_")?;
    if !rest.contains("__") {
        return None;
    }
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_file() {
        let s = Settings::load_from(Some(Path::new("tandem.example.toml")), &[]).unwrap();
        assert_eq!(s.database.url.expose_secret(), "sqlite://tandem.db");
        assert_eq!(s.server.body_limit_bytes, 1024 * 1024);
        assert!(!s.secure_cookies());
    }

    #[test]
    fn environment_overrides_and_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "from-a-file-123\n").unwrap();
        let s = Settings::load_from(
            Some(Path::new("tandem.example.toml")),
            &env(&[
                ("TANDEM_DATABASE__URL", "postgres://db/tandem"),
                ("TANDEM_SERVER__LISTEN", "0.0.0.0:9000"),
                ("TANDEM_AUTH__ADMIN_PASSWORD_FILE", secret.to_str().unwrap()),
                ("TANDEM_UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.url.expose_secret(), "postgres://db/tandem");
        assert_eq!(s.server.listen.port(), 9000);
        assert_eq!(
            s.auth.admin_password.unwrap().expose_secret(),
            "from-a-file-123"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Settings::load_from(
            Some(Path::new("tandem.example.toml")),
            &env(&[("TANDEM_DATABASE__URL", "postgres://u:hunter2@db/t")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::load_from(
            Some(Path::new("tandem.example.toml")),
            &env(&[("TANDEM_SERVER__LISTEN", "not-an-address")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Settings::load_from(Some(Path::new("/nope/tandem.toml")), &[]).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
