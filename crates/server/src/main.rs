//! `packbench`: the hub's command line. Serve the REST API, run the demo, manage tenants and
//! users, migrate. Every subcommand takes `--database URL` (or `DATABASE_URL`); the default is
//! SQLite in the platform data directory.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use packbench_core::domain::{Role, TenantSlug, parse_username};
use packbench_core::service::LabelTiming;
use packbench_server::{AppState, HubOptions, demo, serve, shutdown_signal};
use packbench_store::{Paths, SecretKey, SqlStore};

/// mimalloc rather than glibc's malloc: under the pick/pack load, glibc's allocator was a sixth
/// of the hub's CPU, part of it threads waiting on its arena lock (BENCHMARKS.md, session 9).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "packbench",
    version,
    about = "Packbench hub: packing-station REST API, demo and admin tools"
)]
struct Cli {
    /// Database URL: sqlite:///path/file.sqlite or postgres://user@host/db.
    /// Default: SQLite in the platform data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database: Option<String>,
    /// Run the bench's operations on the store's plain reference path (a transaction per
    /// operation, no order cache, no group commits) instead of its fast one: for measuring
    /// what the fast path earns (`packbench-load --plain`), not for production.
    #[arg(long, global = true)]
    plain_store: bool,
    /// The file holding the key that seals the settings' secrets in the database (made, readable
    /// by its owner only, when it does not exist). Default: `secret.key` in the platform config
    /// directory. `PACKBENCH_SECRET_KEY` (the key itself, base64) overrides it.
    #[arg(long, env = "PACKBENCH_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// How long a label purchase may be out of sight before it is settled (every hub on one
/// database should use the same figures).
#[derive(clap::Args)]
struct LabelTimingArgs {
    /// Seconds a reserved label purchase is taken to be under way on some hub; it must
    /// outlast a UPS call and the lookup of a lost answer (30 s each).
    #[arg(long, env = "PACKBENCH_LABEL_LEASE_SECS", default_value_t = 120)]
    label_lease_secs: u32,
    /// Seconds before a label UPS's lookup by reference does not find is taken as never sold.
    #[arg(long, env = "PACKBENCH_LABEL_LOOKUP_LAG_SECS", default_value_t = 600)]
    label_lookup_lag_secs: u32,
}

impl LabelTimingArgs {
    fn timing(&self) -> LabelTiming {
        LabelTiming {
            lease: chrono::Duration::seconds(self.label_lease_secs.into()),
            lookup_lag: chrono::Duration::seconds(self.label_lookup_lag_secs.into()),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API (and the web UI, if built).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// A built web UI to serve at / (default: ui/dist when it exists).
        #[arg(long)]
        ui: Option<PathBuf>,
        #[command(flatten)]
        labels: LabelTimingArgs,
    },
    /// A demo tenant `demo` with users admin and packer (passwords printed) and sample orders, served.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        #[arg(long)]
        ui: Option<PathBuf>,
        /// How many sample orders a new demo tenant gets.
        #[arg(long, default_value_t = 40)]
        orders: u64,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a tenant (its slug is the {tenant} of /api/{tenant}/...).
    Add {
        slug: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["admin", "operator"])]
        role: String,
    },
}

fn default_database() -> anyhow::Result<String> {
    let dirs = directories::ProjectDirs::from("com", "Packbench", "Packbench")
        .context("no home directory to keep data in; pass --database")?;
    let dir = dirs.data_dir();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(packbench_store::sqlite_url(&dir.join("packbench.sqlite")))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PACKBENCH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("PACKBENCH_LOG_FORMAT").as_deref() == Ok("json");
    // Colours only for a person at a terminal, never in files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn ui_dir(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit.or_else(|| {
        let candidate = PathBuf::from("ui/dist");
        candidate.join("index.html").exists().then_some(candidate)
    })
}

/// The environment variable holding the secret key itself (base64), for hubs whose secrets
/// come from their environment (a container's secret store) rather than a file.
const SECRET_KEY_VAR: &str = "PACKBENCH_SECRET_KEY";

/// The key that seals the settings' secrets, and where it came from (for the log: never the
/// key itself).
fn secret_key(file: Option<&PathBuf>) -> anyhow::Result<(SecretKey, String)> {
    if let Ok(text) = std::env::var(SECRET_KEY_VAR) {
        let key = SecretKey::from_text(&text).context(SECRET_KEY_VAR)?;
        return Ok((key, SECRET_KEY_VAR.to_owned()));
    }
    let path = match file {
        Some(p) => p.clone(),
        None => directories::ProjectDirs::from("com", "Packbench", "Packbench")
            .context("no home directory to keep the secret key in; pass --secret-key-file")?
            .config_dir()
            .join("secret.key"),
    };
    let (key, made) = SecretKey::load_or_create(&path)?;
    if made {
        tracing::warn!(
            file = %path.display(),
            "made a new secret key for the settings' secrets: back it up apart from the database, which cannot be used without it once it holds secrets"
        );
    }
    Ok((key, path.display().to_string()))
}

/// How to open the database: the global options, apart from the subcommand.
struct Opening {
    database: Option<String>,
    plain_store: bool,
    secret_key_file: Option<PathBuf>,
}

async fn open(cli: &Opening) -> anyhow::Result<SqlStore> {
    let url = match &cli.database {
        Some(u) => u.clone(),
        None => default_database()?,
    };
    let paths = if cli.plain_store {
        Paths::Plain
    } else {
        Paths::Fast
    };
    let (key, key_source) = secret_key(cli.secret_key_file.as_ref())?;
    let key_id = key.id().to_owned();
    let store = SqlStore::connect_with(&url, paths).await.map_err(|e| {
        anyhow::anyhow!(
            "opening the database: {e} ({:?})",
            std::error::Error::source(&e)
        )
    })?;
    let (store, sealed) = store.sealed_with(key).await.map_err(|e| {
        anyhow::anyhow!(
            "the secret key from {key_source}: {}",
            std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string())
        )
    })?;
    if sealed > 0 {
        tracing::info!(tenants = sealed, "sealed secrets kept in plain text before");
    }
    tracing::info!(backend = ?store.backend(), paths = ?store.paths(), secret_key = %key_id, key_from = %key_source, "database ready");
    Ok(store)
}

async fn run_hub(
    state: Arc<AppState>,
    bind: SocketAddr,
    ui: Option<PathBuf>,
    track_every: Duration,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    let options = HubOptions { ui_dir: ui_dir(ui) };
    tracing::info!(%addr, ui = ?options.ui_dir, "hub listening");
    println!("Packbench hub on http://{addr}");
    packbench_server::spawn_background(&state, track_every);
    serve(listener, state, options, shutdown_signal()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    // Fault points named in FAILPOINTS (a no-op unless built with `fail/failpoints`, as the
    // hub's tests build it).
    let _faults = fail::FailScenario::setup();
    let cli = Cli::parse();
    let opening = Opening {
        database: cli.database.clone(),
        plain_store: cli.plain_store,
        secret_key_file: cli.secret_key_file.clone(),
    };
    match cli.command {
        Command::Serve { bind, ui, labels } => {
            let store = open(&opening).await?;
            if let Err(e) = store.open_connections().await {
                tracing::warn!(error = %e, "could not open the database connections ahead; they open on first use");
            }
            let mut state = AppState::new(Arc::new(store));
            state.fulfillment = state.fulfillment.with_label_timing(labels.timing());
            let state = Arc::new(state);
            run_hub(state, bind, ui, Duration::from_secs(15 * 60)).await
        }
        Command::Demo { bind, ui, orders } => {
            let state = Arc::new(AppState::new(Arc::new(open(&opening).await?)));
            let demo = demo::start(&state, orders as usize).await?;
            println!(
                "Shopify sim on http://{} ({orders} orders imported through the real client)",
                demo.shopify
            );
            println!(
                "UPS sim on http://{} (SAMPLE labels; parcels deliver in 2 minutes)",
                demo.ups
            );
            println!(
                "Demo tenant `{}`: log in at /api/{}/auth/login",
                demo.tenant.slug, demo.tenant.slug
            );
            println!("  admin  / {}", demo.logins.admin_password);
            println!("  packer / {}", demo.logins.packer_password);
            run_hub(state, bind, ui, Duration::from_secs(15)).await
        }
        Command::Migrate => {
            open(&opening).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Add { slug, name },
        } => {
            let slug = TenantSlug::parse(&slug).map_err(|e| anyhow::anyhow!("{e}"))?;
            let hub = AppState::new(Arc::new(open(&opening).await?));
            let t = hub
                .fulfillment
                .create_tenant(&slug, name.as_deref().unwrap_or(slug.as_str()))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("tenant {} added ({})", t.slug, t.id);
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    tenant,
                    username,
                    role,
                },
        } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let username = parse_username(&username).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let hub = AppState::new(Arc::new(open(&opening).await?));
            let t = hub
                .fulfillment
                .tenant_by_slug(&tenant)
                .await?
                .with_context(|| {
                    format!("no tenant `{tenant}`; add it with `packbench tenant add {tenant}`")
                })?;
            // The accounts service's one password policy; its message names the rule.
            let u = hub
                .fulfillment
                .add_user(&t.id, &username, role, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e} (the password comes from standard input)"))?;
            println!(
                "user {} ({}) added to {}",
                u.username,
                u.role.as_str(),
                t.slug
            );
            Ok(())
        }
    }
}
