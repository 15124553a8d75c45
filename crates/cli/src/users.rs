//! `tandem user add|list|disable|enable|set-role|set-password`: user
//! administration through `tandem_app::users`, the same functions as
//! `/api/v1/users`. A password never comes from an argument (it would sit
//! in the shell history and the process list): `set-password` prompts on a
//! terminal, or reads `--password-file` or standard input; `add` reads
//! `TANDEM_NEW_PASSWORD` or generates one.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use tandem_domain::audit::AuditAction;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tandem_app::AppError;
use tandem_app::credentials as auth;
use tandem_domain::user::{NewUser, Role, User};
use tandem_store::Store;

use crate::commands::{print_json, table};
use crate::names::explain;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from TANDEM_NEW_PASSWORD or generated.
    #[command(
        after_help = "Example:\n  TANDEM_NEW_PASSWORD='correct horse battery' tandem user add kim --role manager"
    )]
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List users.
    #[command(after_help = "Example:\n  tandem user list --format json")]
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Disable a user and end their sessions.
    #[command(after_help = "Example:\n  tandem user disable kim")]
    Disable {
        username: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Enable a disabled user again (their ended sessions stay ended).
    #[command(after_help = "Example:\n  tandem user enable kim")]
    Enable {
        username: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Give a user another role (stakeholder, member, manager, admin). The
    /// last enabled admin keeps the admin role.
    #[command(after_help = "Example:\n  tandem user set-role kim manager")]
    SetRole {
        username: String,
        #[arg(value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Set a user's password and end their sessions. On a terminal it is
    /// asked for twice (not echoed); otherwise it is the first line of
    /// --password-file or of standard input. Never an argument.
    #[command(after_help = "Examples:\n  tandem user set-password kim\n  \
                            tandem user set-password kim --password-file /run/secrets/kim\n  \
                            printf '%s\\n' \"$NEW_PASSWORD\" | tandem user set-password kim")]
    SetPassword {
        username: String,
        /// Read the password from the first line of this file ("-" for
        /// standard input).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// `tandem user …`.
pub async fn user(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            display_name,
            email,
            format,
        } => add(store, username, role, display_name, email, format.format).await,
        UserCommand::List { format } => {
            let users = store.list_users().await?;
            match format.format {
                Format::Json => print_json(&users)?,
                Format::Table => {
                    let mut t = table(&["username", "name", "role", "disabled", "created"]);
                    for u in &users {
                        t.add_row(vec![
                            u.username.clone(),
                            u.display_name.clone(),
                            u.role.to_string(),
                            if u.disabled { "yes" } else { "no" }.to_owned(),
                            u.created_at.date_naive().to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(())
        }
        UserCommand::Disable { username, format } => {
            let user = tandem_app::users::disable(store, &username, None)
                .await
                .map_err(explain)
                .with_context(|| format!("cannot disable {username:?}"))?;
            crate::commands::cli_audit(store, AuditAction::UserDisabled, &user.username, "")
                .await?;
            show(&user, format.format, "disabled; their sessions have ended")
        }
        UserCommand::Enable { username, format } => {
            let user = tandem_app::users::enable(store, &username)
                .await
                .map_err(explain)
                .with_context(|| format!("cannot enable {username:?}"))?;
            crate::commands::cli_audit(store, AuditAction::UserEnabled, &user.username, "").await?;
            show(&user, format.format, "enabled")
        }
        UserCommand::SetRole {
            username,
            role,
            format,
        } => {
            let before = tandem_app::users::get(store, &username)
                .await
                .map_err(explain)?
                .role;
            let user = tandem_app::users::set_role(store, &username, role)
                .await
                .map_err(explain)
                .with_context(|| format!("cannot make {username:?} {role}"))?;
            crate::commands::cli_audit(
                store,
                AuditAction::RoleChanged,
                &user.username,
                &format!("role {before} -> {role}"),
            )
            .await?;
            show(&user, format.format, &format!("is now {role}"))
        }
        UserCommand::SetPassword {
            username,
            password_file,
            format,
        } => {
            // Not found before asking for a password nobody will use.
            tandem_app::users::get(store, &username)
                .await
                .map_err(explain)?;
            let password = read_password(&username, password_file.as_deref())?;
            let user = tandem_app::users::set_password(
                store,
                &username,
                password.expose_secret().to_owned(),
            )
            .await
            .map_err(explain)
            .with_context(|| format!("the password of {username:?} was not changed"))?;
            crate::commands::cli_audit(store, AuditAction::PasswordChanged, &user.username, "")
                .await?;
            show(
                &user,
                format.format,
                "has a new password; their sessions have ended",
            )
        }
    }
}

fn show(user: &User, format: Format, what: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(user),
        Format::Table => {
            println!("{} ({}) {what}", user.username, user.role);
            Ok(())
        }
    }
}

async fn add(
    store: &Store,
    username: String,
    role: Role,
    display_name: Option<String>,
    email: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let (password, generated) = match std::env::var("TANDEM_NEW_PASSWORD") {
        Ok(p) => (p, false),
        Err(_) => (auth::new_password()?, true),
    };
    let input = NewUser {
        username,
        display_name,
        email,
        role,
    };
    let user = match tandem_app::users::create(store, input, password.clone()).await {
        Ok(u) => u,
        Err(AppError::Invalid(errors)) if !generated && errors[0].field == "password" => {
            bail!("TANDEM_NEW_PASSWORD: {}", errors[0].message)
        }
        Err(e) => return Err(explain(e)),
    };
    crate::commands::cli_audit(
        store,
        AuditAction::UserCreated,
        &user.username,
        &format!("role {}", user.role),
    )
    .await?;
    match format {
        Format::Json => {
            let mut v = json!(user);
            if generated {
                v["password"] = json!(password);
            }
            print_json(&v)?;
        }
        Format::Table => {
            println!("added {} ({})", user.username, user.role);
            if generated {
                println!("password (shown once): {password}");
            }
        }
    }
    Ok(())
}

/// The new password: from `file` ("-": standard input), else asked twice on
/// a terminal, else the first line of standard input.
fn read_password(username: &str, file: Option<&Path>) -> anyhow::Result<SecretString> {
    let text = match file {
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("--password-file: cannot read {}", p.display()))?,
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password(format!("New password for {username}: "))
                .context("cannot read the password from the terminal")?;
            let again = rpassword::prompt_password("Again: ")
                .context("cannot read the password from the terminal")?;
            if first != again {
                bail!("the two passwords differ; nothing was changed");
            }
            first
        }
        None => read_stdin()?,
    };
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(anyhow!(
            "no password given: type it at the prompt, or pass it on standard input or with --password-file"
        ));
    }
    Ok(SecretString::from(line.to_owned()))
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the password from standard input")?;
    Ok(s)
}
