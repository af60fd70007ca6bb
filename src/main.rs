//! The `email-sidecar` command line (SPEC §4): `serve` (default), `migrate`,
//! `check`, `enroll`, `rotate-key`, `sync`, `directory load`, `digest` and
//! `demo`. Wires config → store → HTTP; all logic lives in the library.
//! `serve`, `demo`, `migrate`, `rotate-key`, `sync` and `digest send` take
//! the data directory's single-instance lock (`email_sidecar::instance`),
//! so none of them acts on data a running daemon is acting on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use email_sidecar::config::{self, Config};
use email_sidecar::instance::{InstanceLock, Role};
use email_sidecar::store::{AccountStatus, Store};
use email_sidecar::{check, clock};
use logs::{LogControl, LogFormat};

mod demo_cmd;
mod digest_cmd;
mod logs;
mod rotate_cmd;
mod serve_cmd;
mod sync_cmd;

#[derive(Parser)]
#[command(name = "email-sidecar", version, about = "Gmail work for the CRM")]
struct Cli {
    /// Config file (default: config/email-sidecar.toml when present).
    #[arg(long, global = true, env = "CRM_GMAIL_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: human or json; default json under systemd's journal
    /// (`JOURNAL_STREAM` set), human otherwise.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Serve,
    /// Create or upgrade the database schema, then exit. Refused while the
    /// daemon runs.
    Migrate,
    /// Validate config, secrets and the database; print a pass/fail table.
    Check,
    /// Enroll mailboxes of our Workspace domain (idempotent).
    Enroll {
        #[arg(required = true, value_name = "EMAIL")]
        emails: Vec<String>,
    },
    /// Re-encrypt every stored OAuth refresh token from the configured
    /// secret key (CRM_GMAIL_SECRET_KEY_PATH) to the key in NEW_KEY_FILE,
    /// in one transaction; then install NEW_KEY_FILE as the secret key.
    /// Refused while the daemon runs (stop it first).
    RotateKey {
        #[arg(long = "new", value_name = "NEW_KEY_FILE")]
        new_key: PathBuf,
    },
    /// Sync in the foreground with a progress bar, then exit. Refused while
    /// the daemon runs (it syncs on its own; POST /api/email/sync/run-now).
    Sync {
        /// Only this mailbox (default: every active one).
        #[arg(long, value_name = "EMAIL")]
        account: Option<String>,
        /// Full re-list and reconcile instead of incremental.
        #[arg(long)]
        full: bool,
    },
    /// The CRM directory, from a file in the PUT /api/email/directory shape.
    Directory {
        #[command(subcommand)]
        action: DirectoryAction,
    },
    /// Preview or send the daily digest (`send` is refused while the
    /// daemon runs: POST /api/email/digest/send-now).
    Digest {
        #[arg(value_parser = ["preview", "send"])]
        action: String,
    },
    /// Run the self-contained demo: fake Google, sample mail, the daemon.
    Demo {
        /// Where the API listens (a free port is used if this one is taken).
        #[arg(long, default_value = "127.0.0.1:8765")]
        listen: SocketAddr,
        /// Keep the demo's database here (default: a temp dir removed at exit).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DirectoryAction {
    /// Replace the directory with FILE.json and relink past email.
    Load {
        #[arg(value_name = "FILE.json")]
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = logs::init(
        cli.log_format,
        matches!(cli.command, Some(Command::Demo { .. })),
    );
    let result = match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Serve => run_serve(&cli, logs),
        Command::Migrate => load_config(&cli).and_then(|c| run_migrate(&c)),
        Command::Check => run_check(&cli),
        Command::Enroll { emails } => load_config(&cli).and_then(|c| run_enroll(&c, emails)),
        Command::RotateKey { new_key } => {
            load_config(&cli).and_then(|c| rotate_cmd::run(&c, new_key))
        }
        Command::Sync { account, full } => {
            load_config(&cli).and_then(|c| sync_cmd::run(c, account.as_deref(), *full))
        }
        Command::Directory {
            action: DirectoryAction::Load { file },
        } => load_config(&cli).and_then(|c| sync_cmd::load_directory(c, file)),
        Command::Digest { action } => load_config(&cli).and_then(|c| digest_cmd::run(c, action)),
        Command::Demo { listen, data_dir } => demo_cmd::run(*listen, data_dir.clone()),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

fn config_path(cli: &Cli) -> Option<PathBuf> {
    cli.config.clone().or_else(|| {
        let default = Path::new(config::DEFAULT_PATH);
        default.is_file().then(|| default.to_path_buf())
    })
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let path = config_path(cli);
    Config::from_process_env(path.as_deref()).context("invalid configuration")
}

/// Takes the data directory's single-instance lock for `role`; held until
/// the guard drops. The error names the holder and what to do instead.
pub(crate) fn lock_data_dir(config: &Config, role: Role) -> anyhow::Result<InstanceLock> {
    Ok(InstanceLock::acquire(
        &config.data_dir,
        role,
        clock::system().now(),
    )?)
}

/// For a command that may run beside the daemon (see
/// [`email_sidecar::instance::open_store_beside_daemon`]).
pub(crate) fn open_store_beside_daemon(
    config: &Config,
    command: &'static str,
) -> anyhow::Result<Store> {
    let path = config.db_path();
    email_sidecar::instance::open_store_beside_daemon(config, command, clock::system())
        .with_context(|| format!("cannot open the database {}", path.display()))
}

pub(crate) fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.db_path();
    Store::open(&path).with_context(|| format!("cannot open the database {}", path.display()))
}

fn run_serve(cli: &Cli, logs: LogControl) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    logs.start_with(&config.log_level);
    // Held until this returns: past the drain and the attachment sweep.
    let _lock = lock_data_dir(&config, Role::Serve)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let attachments = config.enabled.then(|| config.attachments_dir());
    let served = runtime.block_on(serve_cmd::serve(config, config_path(cli), logs));
    // Blocking work cut off by the stop budget is abandoned, not waited for
    // (its transaction rolls back); systemd's 10 s must hold.
    runtime.shutdown_timeout(Duration::from_millis(500));
    if let Some(dir) = attachments {
        // Sweeps temp files of writes the drain cut short (the kernel has
        // released their locks by now), so the store is tidy at exit.
        if let Err(e) = email_sidecar::attachments::AttachmentStore::open(dir) {
            tracing::warn!(error = %e, "attachment store sweep at exit failed");
        }
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

fn run_migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let _lock = lock_data_dir(config, Role::Migrate)?;
    let store = open_store(config)?;
    let applied = store.applied_migrations()?;
    println!("database: {}", store.path().display());
    for m in &applied {
        println!("  V{} {}", m.version, m.name);
    }
    println!(
        "schema at version {}",
        applied.last().map_or(0, |m| m.version)
    );
    Ok(ExitCode::SUCCESS)
}

fn run_enroll(config: &Config, emails: &[String]) -> anyhow::Result<ExitCode> {
    if config.workspace_domains.is_empty() {
        bail!(
            "{} ({}) is not set; only addresses in our Workspace domain can be enrolled",
            config::keys::WORKSPACE_DOMAIN.env,
            config::keys::WORKSPACE_DOMAIN.toml
        );
    }
    let mut addresses = Vec::new();
    for raw in emails {
        let Some(email) = config::normalize_mailbox(raw) else {
            bail!("{raw:?} is not an email address");
        };
        if !config.is_workspace_address(&email) {
            let ours = config.workspace_domains.join(", ");
            bail!("{email} is not in our Workspace domain ({ours})");
        }
        addresses.push(email);
    }
    let store = open_store_beside_daemon(config, "enroll")?;
    println!(
        "{:<6} {:<40} {:<8} {:<6} RESULT",
        "ID", "EMAIL", "STATUS", "AUTH"
    );
    for email in addresses {
        let mut outcome = store.enroll_account(&email, config.auth_method, None)?;
        // Enrolling again is how an operator says "the grant is fixed":
        // a mailbox in `error` goes back to `active` (paused stays paused).
        let reactivate = !outcome.created && outcome.account.status == AccountStatus::Error;
        if reactivate {
            outcome.account =
                store.set_account_status(outcome.account.id, AccountStatus::Active, None)?;
        }
        let a = &outcome.account;
        if outcome.created || reactivate {
            let details =
                serde_json::json!({"email": a.email, "auth_method": a.auth_method.as_str()});
            let action = if reactivate {
                "account.reactivate"
            } else {
                "account.enroll"
            };
            store.append_audit("cli", action, Some(&a.id.to_string()), &details)?;
        }
        let result = match (outcome.created, reactivate) {
            (true, _) => "enrolled",
            (false, true) => "reactivated (was in error)",
            (false, false) => "already enrolled",
        };
        println!(
            "{:<6} {:<40} {:<8} {:<6} {result}",
            a.id,
            a.email,
            a.status.as_str(),
            a.auth_method.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `check`: every check is a named row (see `email_sidecar::check`); exit 1
/// if any row failed.
fn run_check(cli: &Cli) -> anyhow::Result<ExitCode> {
    let path = config_path(cli);
    let source = path.as_deref().map_or("environment only".to_string(), |p| {
        format!("{} + environment", p.display())
    });
    let config = Config::from_process_env(path.as_deref());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let rows = runtime.block_on(check::run(config, &source, clock::system()));
    let (table, ok) = check::render(&rows);
    print!("{table}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
