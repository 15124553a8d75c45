//! The polled IMAP mailbox of e-mailed requests (`[requests.imap]`, ADR
//! 0022), read with `async-imap` over TLS (rustls) or, on loopback only,
//! plain TCP.
//!
//! Once: every poll fetches the messages whose UID is above the mailbox's
//! cursor (`imap_cursors`, per UIDVALIDITY), hands each to
//! [`super::mail::receive`] (which stores it once per Message-ID), and
//! moves the cursor past it only after that. A crash between the two
//! fetches the message again at the next poll and the store calls it a
//! duplicate; two replicas polling the same mailbox do the same. Messages
//! are flagged `\Seen` afterwards, as a courtesy to people reading the
//! mailbox; nothing relies on the flag.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use tandem_domain::intake::MailSource;
use tandem_store::Store;
use tokio::net::TcpStream;

use super::mail::{self, Receipt};
use crate::settings::{ImapSettings, Settings};
use crate::{AppError, AppResult};

/// At most this many messages per poll (the rest come at the next one).
const BATCH: u32 = 200;

/// One poll of the mailbox: what became of each new message.
pub async fn poll(
    store: &Store,
    settings: &Settings,
    imap: &ImapSettings,
    now: DateTime<Utc>,
) -> AppResult<Vec<Receipt>> {
    let password = imap
        .password()
        .map_err(|e| AppError::Unexpected(anyhow!("{e}")))?;
    let tcp = TcpStream::connect((imap.host.as_str(), imap.port()))
        .await
        .with_context(|| format!("IMAP {}:{}", imap.host, imap.port()))?;
    if imap.tls {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = tokio_rustls::rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(imap.host.clone())
            .with_context(|| format!("requests.imap.host {:?}", imap.host))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .with_context(|| format!("IMAP TLS with {}", imap.host))?;
        session(store, settings, imap, &password, tls, now).await
    } else {
        session(store, settings, imap, &password, tcp, now).await
    }
}

async fn session<T>(
    store: &Store,
    settings: &Settings,
    imap: &ImapSettings,
    password: &str,
    stream: T,
    now: DateTime<Utc>,
) -> AppResult<Vec<Receipt>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let ctx = || format!("IMAP {}:{}", imap.host, imap.port());
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .with_context(ctx)?
        .ok_or_else(|| anyhow!("{}: no greeting", ctx()))?;
    let mut session = client
        .login(&imap.user, password)
        .await
        .map_err(|(e, _)| anyhow!("{}: login as {}: {e}", ctx(), imap.user))?;
    let mailbox = session
        .select(&imap.mailbox)
        .await
        .with_context(|| format!("{}: select {}", ctx(), imap.mailbox))?;
    let validity = i64::from(mailbox.uid_validity.unwrap_or(0));
    let cursor_name = imap.cursor_name();
    let after = match store.imap_cursor(&cursor_name).await? {
        Some((v, last)) if v == validity => last,
        _ => 0,
    };
    // `n:*` always includes the highest UID, even below n: filtered below.
    let fetched: Vec<(u32, Vec<u8>)> = session
        .uid_fetch(format!("{}:*", after + 1), "(UID BODY.PEEK[])")
        .await
        .with_context(|| format!("{}: fetch", ctx()))?
        .try_filter_map(|f| async move { Ok(f.uid.map(|u| (u, f.body().unwrap_or(&[]).to_vec()))) })
        .try_collect()
        .await
        .with_context(|| format!("{}: fetch", ctx()))?;
    let mut fetched: Vec<(u32, Vec<u8>)> = fetched
        .into_iter()
        .filter(|(uid, _)| i64::from(*uid) > after)
        .collect();
    fetched.sort_by_key(|(uid, _)| *uid);
    fetched.truncate(BATCH as usize);
    let mut out = Vec::new();
    for (uid, raw) in fetched {
        let receipt = mail::receive(store, settings, raw, MailSource::Imap, None, now).await?;
        store
            .advance_imap_cursor(&cursor_name, validity, i64::from(uid), now)
            .await?;
        let seen: Result<Vec<_>, _> =
            match session.uid_store(uid.to_string(), "+FLAGS (\\Seen)").await {
                Ok(s) => s.try_collect().await,
                Err(e) => Err(e),
            };
        if let Err(e) = seen {
            tracing::debug!(error = %e, uid, "could not flag a message \\Seen");
        }
        out.push(receipt);
    }
    session.logout().await.ok();
    Ok(out)
}
