//! `gerbang users`: dashboard users, managed on the database directly.

use crate::commands::load_config;
use crate::Common;
use anyhow::Context;
use clap::{Args, Subcommand};
use gerbang_app::users::{self, totp::Enrolment, UserError};
use gerbang_app::App;
use gerbang_core::mask::Secret;
use gerbang_core::user::{Role, Scope, Username};
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a dashboard user. Its password is read from stdin with
    /// `--password-stdin`, otherwise made and printed once; a checker's or an
    /// admin's TOTP secret is printed once too.
    Add {
        username: String,
        /// viewer, maker, checker or admin.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        whose: Whose,
        /// Read the password (one line) from stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: Common,
    },
    /// List users: name, scope, role, state.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Stop a user from signing in; its sessions end.
    Disable {
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// Give a user a new TOTP secret (printed once) and lift a lockout.
    ResetTotp {
        username: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Whose data the user sees: the operator's (everything) unless a merchant or a
/// partner is named.
#[derive(Args, Clone, Debug)]
#[group(multiple = false)]
pub struct Whose {
    /// A Debit merchant's users see its bills.
    #[arg(long)]
    merchant: Option<String>,
    /// A SendMe partner's users (by virtual account) see the payouts its balance funds.
    #[arg(long)]
    partner: Option<String>,
}

impl Whose {
    fn scope(&self) -> Scope {
        match (&self.merchant, &self.partner) {
            (Some(m), _) => Scope::Merchant(m.clone()),
            (None, Some(p)) => Scope::Partner(p.clone()),
            (None, None) => Scope::Operator,
        }
    }
}

fn show_enrolment(e: &Enrolment) {
    println!(
        "TOTP secret (shown once; put it in an authenticator app): {}",
        e.secret.expose()
    );
    println!("TOTP address (for a QR code): {}", e.url.expose());
}

fn refused(e: UserError) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e}; nothing was changed");
    Ok(ExitCode::from(1))
}

fn username(given: &str) -> anyhow::Result<Username> {
    Username::parse(given).map_err(|e| anyhow::anyhow!(e))
}

pub async fn run(command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add {
            username: name,
            role,
            whose,
            password_stdin,
            common,
        } => {
            let name = username(&name)?;
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!(e))?;
            let (password, made) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from stdin")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                use base64::Engine;
                let bytes: [u8; 18] = rand::random();
                (
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                    true,
                )
            };
            let app = App::open(load_config(&common)?).await?;
            match users::add(
                &app,
                name,
                whose.scope(),
                role,
                Secret::new(password.clone()),
            )
            .await
            {
                Ok(added) => {
                    let u = &added.user;
                    println!("added {} ({}, {})", u.username, u.scope, u.role.as_str());
                    if made {
                        println!("password (shown once): {password}");
                    }
                    if let Some(e) = &added.enrolment {
                        show_enrolment(e);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        UsersCommand::List { common } => {
            let app = App::open(load_config(&common)?).await?;
            let list = match users::list(&app).await {
                Ok(list) => list,
                Err(e) => return refused(e),
            };
            println!(
                "{:<24} {:<24} {:<8} {:<8} totp",
                "username", "scope", "role", "state"
            );
            for u in list {
                println!(
                    "{:<24} {:<24} {:<8} {:<8} {}",
                    u.username.as_str(),
                    u.scope.to_string(),
                    u.role.as_str(),
                    u.state(),
                    if u.totp_secret.is_some() { "yes" } else { "no" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Disable {
            username: name,
            common,
        } => {
            let name = username(&name)?;
            let app = App::open(load_config(&common)?).await?;
            match users::disable(&app, &name).await {
                Ok(u) => {
                    println!("disabled {}", u.username);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
        UsersCommand::ResetTotp {
            username: name,
            common,
        } => {
            let name = username(&name)?;
            let app = App::open(load_config(&common)?).await?;
            match users::reset_totp(&app, &name).await {
                Ok(e) => {
                    println!("new TOTP secret for {name}; the old one no longer works");
                    show_enrolment(&e);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            }
        }
    }
}
