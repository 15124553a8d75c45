//! The one SMTP transport: what `[report.smtp]` describes, used by the
//! weekly report's sender (`report::send`) and by the request intake's
//! e-mail replies (`intake::mail`). A module of its own so that neither
//! imports the other (`crates/domain/tests/layering.rs` forbids circles).

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::settings::{SmtpSecurity, SmtpSettings};

/// The SMTP transport `[report.smtp]` describes.
pub fn smtp_transport(
    smtp: &SmtpSettings,
    timeout_seconds: u64,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match smtp.security {
        SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?,
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(timeout_seconds)));
    if let (Some(user), Some(pw)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            pw.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}
