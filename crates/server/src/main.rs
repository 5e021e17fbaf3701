//! `packbench`: the hub's command line. Serve the REST API, run the demo, manage tenants and
//! users, migrate. Every subcommand takes `--database URL` (or `DATABASE_URL`); the default is
//! SQLite in the platform data directory.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use packbench_core::domain::{Role, TenantSlug, parse_username};
use packbench_core::ports::{Clock, Store, SystemClock};
use packbench_server::{AppState, HubOptions, auth, demo, serve, shutdown_signal};
use packbench_store::SqlStore;

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
    #[command(subcommand)]
    command: Command,
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
    /// Bench devices: printers (scales and scanners come with the devices issue).
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Send a label (a .zpl file) to a printer: --to tcp://HOST:PORT.
    Print {
        #[arg(long)]
        to: String,
        file: PathBuf,
    },
    /// Ask a printer for its status (~HS): --to tcp://HOST:PORT.
    Status {
        #[arg(long)]
        to: String,
    },
    /// One stable weight from a serial scale:
    /// --scale serial:/dev/ttyUSB0[?protocol=nci|sics&baud=9600].
    Weigh {
        #[arg(long)]
        scale: String,
    },
}

/// Opens `serial:PATH[?protocol=nci|sics&baud=N]` (NCI at 9600 7E1 by default; SICS is 8N1).
fn serial_scale(
    spec: &str,
) -> anyhow::Result<(
    packbench_devices::transport::Serial,
    packbench_devices::serial_scale::SerialProtocol,
)> {
    use packbench_devices::serial_scale::SerialProtocol;
    use packbench_devices::transport::{Serial, SerialSettings};
    let Some(rest) = spec.strip_prefix("serial:") else {
        bail!(
            "--scale must be serial:/dev/ttyUSB0[?protocol=nci|sics&baud=9600] for now (USB HID scales come with the devices issue), not `{spec}`"
        );
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (mut protocol, mut baud) = (SerialProtocol::Nci, 9600);
    for (k, v) in query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| kv.split_once('='))
    {
        match k {
            "protocol" => {
                protocol = SerialProtocol::parse(v)
                    .with_context(|| format!("protocol is nci or sics, not `{v}`"))?
            }
            "baud" => {
                baud = v
                    .parse()
                    .with_context(|| format!("baud is a number, not `{v}`"))?
            }
            _ => bail!("unknown scale option `{k}` (protocol, baud)"),
        }
    }
    let settings = SerialSettings {
        baud,
        seven_even: protocol == SerialProtocol::Nci,
    };
    Ok((Serial::open(path, settings)?, protocol))
}

/// Opens `tcp://HOST:PORT` (port 9100 when left out).
fn printer(to: &str) -> anyhow::Result<packbench_devices::transport::Tcp> {
    let Some(rest) = to.strip_prefix("tcp://") else {
        bail!(
            "--to must be tcp://HOST:PORT for now (usb: and spool: come with the devices issue), not `{to}`"
        );
    };
    let target = if rest.contains(':') {
        rest.to_owned()
    } else {
        format!("{rest}:9100")
    };
    Ok(packbench_devices::transport::Tcp::connect(
        &target,
        std::time::Duration::from_secs(5),
    )?)
}

fn run_device(command: DeviceCommand) -> anyhow::Result<()> {
    use packbench_devices::printer;
    let timeout = std::time::Duration::from_secs(3);
    match command {
        DeviceCommand::Print { to, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let job = match ext.as_deref() {
                Some("zpl") => bytes,
                // Images go as a Z64 graphic field, 1 bit per dot.
                Some("png") => packbench_labels::zpl::png_label(&bytes)
                    .with_context(|| format!("{} is not a readable PNG", file.display()))?
                    .into_bytes(),
                _ => bail!(
                    "print .zpl or .png files (PDF to a label printer comes with the labels work)"
                ),
            };
            let mut t = printer(&to)?;
            let status = printer::query_status(&mut t, timeout)?;
            if !status.ready() {
                let why: Vec<&str> = status.problems.iter().map(|p| p.describe()).collect();
                bail!("the printer cannot print: {}", why.join("; "));
            }
            printer::send_job(&mut t, &job)?;
            println!("sent {} bytes to {to}", job.len());
            Ok(())
        }
        DeviceCommand::Weigh { scale } => {
            let (mut port, protocol) = serial_scale(&scale)?;
            let reading =
                packbench_devices::serial_scale::weigh_stable(&mut port, protocol, 10, timeout)?;
            let w = reading
                .package_weight()
                .context("the reading is not a usable weight")?;
            println!("{:.2} {}", w.value(), w.unit().as_str());
            Ok(())
        }
        DeviceCommand::Status { to } => {
            let mut t = printer(&to)?;
            let status = printer::query_status(&mut t, timeout)?;
            if status.ready() {
                println!("ready ({} formats waiting)", status.formats_waiting);
            } else {
                for p in &status.problems {
                    println!("{}", p.describe());
                }
            }
            Ok(())
        }
    }
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
    Ok(format!(
        "sqlite://{}",
        dir.join("packbench.sqlite").display()
    ))
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

async fn open(database: Option<String>) -> anyhow::Result<SqlStore> {
    let url = match database {
        Some(u) => u,
        None => default_database()?,
    };
    let store = SqlStore::connect(&url).await.map_err(|e| {
        anyhow::anyhow!(
            "opening the database: {e} ({:?})",
            std::error::Error::source(&e)
        )
    })?;
    tracing::info!(backend = ?store.backend(), "database ready");
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
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { bind, ui } => {
            let state = Arc::new(AppState::new(Arc::new(open(cli.database).await?)));
            run_hub(state, bind, ui, Duration::from_secs(15 * 60)).await
        }
        Command::Demo { bind, ui, orders } => {
            let state = Arc::new(AppState::new(Arc::new(open(cli.database).await?)));
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
        Command::Device { command } => run_device(command),
        Command::Migrate => {
            open(cli.database).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Add { slug, name },
        } => {
            let slug = TenantSlug::parse(&slug).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open(cli.database).await?;
            let t = store
                .create_tenant(
                    &slug,
                    name.as_deref().unwrap_or(slug.as_str()),
                    SystemClock.now(),
                )
                .await?;
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
            if password.len() < 8 {
                bail!("the password (from standard input) must be at least 8 characters");
            }
            let store = open(cli.database).await?;
            let t = store.tenant_by_slug(&tenant).await?.with_context(|| {
                format!("no tenant `{tenant}`; add it with `packbench tenant add {tenant}`")
            })?;
            let hash = auth::hash_password(password)
                .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let u = store
                .create_user(&t.id, &username, &hash, role, SystemClock.now())
                .await?;
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
