use tandem_domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} was not found")]
    NotFound { entity: &'static str, id: String },
    /// A unique key is taken (`field` names it).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// A referenced entity does not exist (`field` names the reference).
    #[error("{message}")]
    MissingReference { field: String, message: String },
    /// The entity changed since it was read.
    #[error("{0}")]
    Stale(String),
    /// Input rejected by a domain rule while importing.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// `create_if_missing` was off and the SQLite file does not exist.
    #[error("no database at {0}; run `tandem migrate` or `tandem serve` to create it")]
    NoDatabase(String),
    /// The database server did not take a connection.
    #[error("{0}")]
    Unreachable(String),
    /// A dump file could not be read back.
    #[error("dump line {line}: {message}")]
    Dump { line: usize, message: String },
    /// A stored value the domain does not accept: the database was changed
    /// outside Tandem or by a newer version.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether this is the database being away (not answering, refusing
    /// connections, restarting, the pool exhausted) rather than anything
    /// about the request: callers answer 503 and retry later instead of
    /// reporting a bug. PostgreSQL's classes 08 (connection exception) and
    /// 57P (operator intervention: shutdown, crash, not accepting
    /// connections yet) count; so do SQLite's busy and locked, which
    /// outlast the busy timeout only under a stuck writer.
    pub fn is_outage(&self) -> bool {
        if self.storage_problem().is_some() {
            return true;
        }
        match self {
            StoreError::Unreachable(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || matches!(code.as_ref(), "5" | "6" | "261" | "517")
                }),
                _ => false,
            },
            StoreError::Io(_) => false,
            _ => false,
        }
    }

    /// When the database's storage refuses writes, what an operator must
    /// fix, in words: SQLite's full disk (13) or read-only database (8) or
    /// failed write (10, with its extended codes: a read-only remount or a
    /// failing disk), PostgreSQL's disk full (53100) or read-only
    /// transaction (25006, a standby). These are outages too (503: nothing
    /// was written, the same request succeeds once there is room), but
    /// unlike a restart they do not pass by themselves.
    pub fn storage_problem(&self) -> Option<&'static str> {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return None;
        };
        let code = db.code()?;
        if let Ok(n) = code.parse::<i64>() {
            // SQLite (PostgreSQL's SQLSTATEs that parse as numbers are
            // five digits; these primary codes are below 256 after masking
            // only for SQLite's extended codes).
            if code.len() < 5 {
                return match n & 0xff {
                    13 => Some("the database's disk is full"),
                    8 => Some("the database is read-only"),
                    10 => {
                        Some("the database's storage refused a write (read-only or failing disk)")
                    }
                    _ => None,
                };
            }
        }
        match code.as_ref() {
            "53100" => Some("the database's disk is full"),
            "25006" => Some("the database is read-only"),
            _ => None,
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Turns a unique violation into a `Conflict` naming `field`; other errors
    /// pass through.
    pub(crate) fn unique(
        field: &str,
        what: impl FnOnce() -> String,
    ) -> impl FnOnce(sqlx::Error) -> Self {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict {
                field: field.to_owned(),
                message: format!("{} already exists", what()),
            },
            _ => Self::Database(e),
        }
    }
}
