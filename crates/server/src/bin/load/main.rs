//! `packbench-load`: the hub's load generator (BENCHMARKS.md).
//!
//! Seeds a database with N orders, starts `packbench serve` on it (the binary next to this
//! one), and measures over loopback HTTP:
//! - `GET orders?status=pending&limit=50` latency (p50/p99), one client at a time;
//! - `pick` and `pack` operation latency (p50/p99) and throughput with C concurrent clients,
//!   each sending as fast as it is answered, and at R operations a second offered on a
//!   schedule, each timed from when it was due; each operations phase starts after a few
//!   quiet seconds, so the hub's background work left by the phase before is not timed in it;
//! - the hub's resident memory (VmRSS, then VmHWM) after the run;
//! - the CPU the hub, the load generator and the whole machine spent per operation, and the
//!   share of the cores' time the hypervisor gave to other guests meanwhile (`stolen`), so a
//!   run on a machine that was being slowed can be told from a slower hub.
//!
//! Usage: packbench-load --database URL [--orders 100000] [--clients 1,8] [--rates 2000]
//! [--operators 32] [--ops 30000] [--settle-ms 3000] [--slow-ms 8] [--plain]

use packbench_core::ports::AccountStore;
use packbench_core::ports::OrderStore;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use packbench_core::domain::{Role, TenantSlug};
use packbench_core::ports::{Clock, SystemClock};
use packbench_server::{auth, demo};
use packbench_store::SqlStore;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

mod keep_alive;
use keep_alive::Connection;

#[derive(Parser)]
struct Args {
    #[arg(long, env = "DATABASE_URL")]
    database: String,
    #[arg(long, default_value_t = 100_000)]
    orders: u64,
    /// Concurrent clients for the operations phase; a list (1,8) runs the phase once per value;
    /// `--clients` with none skips it.
    #[arg(long, value_delimiter = ',', default_value = "1,8", num_args = 0.., value_parser = at_least_one)]
    clients: Vec<usize>,
    /// Offered loads for the paced phase, in operations per second; a list runs it once per
    /// value; `--rates` with none skips it. Operations are sent on a fixed schedule whether or
    /// not earlier ones have been answered, and each is timed from when it was due.
    #[arg(long, value_delimiter = ',', default_value = "2000", num_args = 0.., value_parser = at_least_one)]
    rates: Vec<usize>,
    /// Operators sharing the paced phase's schedule (each works one order at a time).
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    operators: usize,
    /// Operations (picks and packs) to run in the operations phase.
    /// Long enough to take in the hub's background work (SQLite checkpoints every 2 s).
    #[arg(long, default_value_t = 30000)]
    ops: usize,
    /// Serve on the store's plain reference path (`packbench serve --plain-store`): what
    /// the fast path earns is the difference.
    #[arg(long)]
    plain: bool,
    /// List requests in the list phase.
    #[arg(long, default_value_t = 2000)]
    lists: usize,
    /// Print each pick or pack slower than this many milliseconds, with when it was sent (due)
    /// (slow operations in bursts at a steady interval point at a background job).
    #[arg(long)]
    slow_ms: Option<u64>,
    /// Quiet time before each operations phase, in milliseconds, so that the background work
    /// the phase before left behind is not timed in this one: after 8 clients as fast as
    /// answered, SQLite's next checkpoint copies a log more than twice the paced phase's, and it
    /// fell in the paced phase's first 100 ms.
    #[arg(long, default_value_t = 3000)]
    settle_ms: u64,
    /// The `packbench` binary (default: next to this one).
    #[arg(long)]
    packbench: Option<PathBuf>,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn seed(
    store: &SqlStore,
    tenant: &packbench_core::domain::TenantId,
    n: u64,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let started = Instant::now();
    // Oldest first, in batches of 500 (one transaction each), as a Shopify sync imports
    // them; seeded, so every run has the same orders.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let mut batch = Vec::with_capacity(500);
    for i in 0..n {
        let created = now - chrono::Duration::seconds((n - i) as i64);
        batch.push(demo::sample_order(i, created, &mut rng));
        if batch.len() == 500 || i + 1 == n {
            store.import_orders(tenant, &batch, now).await?;
            batch.clear();
        }
    }
    eprintln!(
        "seeded {n} orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time (user + system) a process has used so far, in milliseconds.
fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) ends with ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks * 10.0)
}

/// The whole machine's CPU time so far, in milliseconds: busy (every process there is now,
/// the kernel's threads among them, all cores) and stolen by the hypervisor. The hub, its
/// database and the load generator share these cores; time stolen from them is time the
/// machine did not have, and shows in the latencies (a KVM guest's neighbours take it).
///
/// Busy is the sum of each process's own CPU time (`/proc/PID/stat`, which the scheduler
/// counts exactly), not `/proc/stat`'s, which samples the cores at each timer tick: at 2,000
/// operations a second, whose wake-ups keep step with the ticks, that sampling showed the
/// machine busy for less than the hub and the load generator alone (0.13-0.52 ms per
/// operation against 0.33-0.36, SQLite, 12-04). A process that starts and ends within a
/// phase is missed.
fn machine_ms() -> Option<(f64, f64)> {
    let mut busy = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            busy += cpu_ms(pid).unwrap_or(0.0);
        }
    }
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    // cpu: user, nice, system, idle, iowait, irq, softirq, steal
    let steal: f64 = stat
        .lines()
        .next()?
        .split_whitespace()
        .nth(8)?
        .parse()
        .ok()?;
    Some((busy, steal * 10.0))
}

/// Cores on this machine (for the share of their time that was stolen).
fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = Arc::new(
        SqlStore::connect(&args.database)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_secret_key(packbench_store::SecretKey::generate()),
    );
    let slug = format!("load-{}", rand::random::<u32>());
    let tenant = store
        .create_tenant(
            &TenantSlug::parse(&slug).map_err(|e| anyhow::anyhow!("{e}"))?,
            "Load test",
            SystemClock.now(),
        )
        .await?;
    let password = "load-test-password";
    let hash = auth::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .create_user(&tenant.id, "load", &hash, Role::Admin, SystemClock.now())
        .await?;
    seed(&store, &tenant.id, args.orders).await?;
    // Fresh statistics, as a hub that has been running has them (autovacuum, or SQLite's
    // `pragma optimize`); without them a planner right after a bulk load guesses badly.
    // PostgreSQL also vacuums: a bulk load of 100,000 orders leaves autovacuum a pass over
    // every new row to do, which would otherwise run during the measurement (a tenth of the
    // machine's CPU) though a hub that has been running has long done it.
    let tidy = if args.database.starts_with("postgres") {
        "vacuum analyze"
    } else {
        "analyze"
    };
    sqlx::query(tidy).execute(store.pool_for_tools()).await?;

    drop(store);

    let exe = match args.packbench {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("packbench"),
    };
    let mut hub = tokio::process::Command::new(&exe)
        .args([
            "--database",
            &args.database,
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(args.plain.then_some("--plain-store"))
        // Quiet unless asked (e.g. `PACKBENCH_LOG=warn,packbench_store=debug` for checkpoints).
        .env(
            "PACKBENCH_LOG",
            std::env::var("PACKBENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let pid = hub.id().context("hub pid")?;
    let mut lines = BufReader::new(hub.stdout.take().context("hub stdout")?).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await??
            .context("the hub exited")?;
        if let Some(url) = line.strip_prefix("Packbench hub on ") {
            break url.trim().to_owned();
        }
    };
    let api = format!("{base}/api/{slug}");
    // The operations phases' own connections (`keep_alive`) take the address and the path apart.
    let hub_url = url::Url::parse(&base).with_context(|| format!("the hub's address {base}"))?;
    let authority = format!(
        "{}:{}",
        hub_url
            .host_str()
            .context("the hub's address has no host")?,
        hub_url
            .port_or_known_default()
            .context("the hub's address has no port")?
    );
    let api_path = format!("/api/{slug}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let login: Value = http
        .post(format!("{api}/auth/login"))
        .json(&json!({"username": "load", "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["data"]["token"].as_str().context("login")?.to_owned();

    // Phase 1: the queue screen's query, one request at a time.
    let mut lat = Vec::with_capacity(args.lists);
    for _ in 0..args.lists / 10 {
        http.get(format!("{api}/orders?status=pending&limit=50"))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
    }
    for _ in 0..args.lists {
        let t = Instant::now();
        let r = http
            .get(format!("{api}/orders?status=pending&limit=50"))
            .bearer_auth(&token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("list failed: {}", r.status());
        }
        r.bytes().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let (list_p50, list_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));

    let backend = match (args.database.starts_with("sqlite"), args.plain) {
        (true, false) => "SQLite",
        (true, true) => "SQLite, plain path",
        (false, false) => "PostgreSQL",
        (false, true) => "PostgreSQL, plain path",
    };
    println!(
        "| backend | orders | list p50 | list p99 | pick/pack ops | clients | offered | op p50 | op p99 | sent late p99 | ops/s | hub CPU per op | load CPU per op | machine CPU per op | stolen | hub RSS (peak) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");

    // Phase 2: picks and packs from C clients, for each C asked for, each as fast as it is
    // answered (closed loop: the hub's most operations per second, and the latencies when
    // every client is waiting on it). Each client claims orders and works them: a pick per
    // line, then a pack.
    // Phase 3: the same work from `operators` operators on a fixed schedule of R operations
    // per second (open loop), for each R asked for: the latencies at that load, each timed
    // from when its operation was due, so a hub that falls behind pays for every operation
    // that waited (no coordinated omission).
    let phases = args
        .clients
        .iter()
        .map(|&c| Pace::AsFastAsAnswered { clients: c })
        .chain(args.rates.iter().map(|&r| Pace::Scheduled {
            per_second: r,
            operators: args.operators,
        }));
    for pace in phases {
        tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
        let cpu_before = cpu_ms(pid).unwrap_or(0.0);
        let own_before = cpu_ms(std::process::id()).unwrap_or(0.0);
        let (machine_before, steal_before) = machine_ms().unwrap_or_default();
        let slow = args.slow_ms.map(Duration::from_millis);
        let Worked { lat, late, elapsed } =
            work_orders(&authority, &api_path, &token, pace, args.ops, slow).await?;
        // Claims included: the CPU the hub spent for each timed pick or pack.
        let cpu_per_op = (cpu_ms(pid).unwrap_or(0.0) - cpu_before) / lat.len() as f64;
        // The load generator shares the machine: what it spent per operation too.
        let own_per_op =
            (cpu_ms(std::process::id()).unwrap_or(0.0) - own_before) / lat.len() as f64;
        let (machine_after, steal_after) = machine_ms().unwrap_or_default();
        let machine_per_op = (machine_after - machine_before) / lat.len() as f64;
        // The share of the cores' time during the phase the hypervisor gave to others.
        let stolen = (steal_after - steal_before) / (elapsed * 1000.0 * cores()) * 100.0;
        let (op_p50, op_p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
        let throughput = lat.len() as f64 / elapsed;
        let rss = rss_kib(pid, "VmRSS:").unwrap_or(0);
        let hwm = rss_kib(pid, "VmHWM:").unwrap_or(0);
        let (clients, offered) = match pace {
            Pace::AsFastAsAnswered { clients } => (clients, "as answered".to_owned()),
            Pace::Scheduled {
                per_second,
                operators,
            } => (operators, format!("{per_second}/s")),
        };
        println!(
            "| {backend} | {} | {list_p50:.2} ms | {list_p99:.2} ms | {} | {clients} | {offered} | {op_p50:.2} ms | {op_p99:.2} ms | {:.2} ms | {throughput:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {stolen:.0} % | {:.1} MB ({:.1} MB) |",
            args.orders,
            lat.len(),
            percentile(&late, 0.99),
            cpu_per_op,
            own_per_op,
            machine_per_op,
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    let _ = hub.kill().await;
    Ok(())
}

/// How the operations phase sends its picks and packs.
#[derive(Clone, Copy)]
enum Pace {
    /// Each client sends its next operation as soon as the last is answered.
    AsFastAsAnswered { clients: usize },
    /// Operations fall due `per_second` times a second, shared by `operators`: each is sent
    /// by the first operator free once it is due, and timed from when it was due.
    Scheduled { per_second: usize, operators: usize },
}

/// When operations of a scheduled phase fall due, one at a time, until `ops` have. The
/// schedule starts once every operator is [`ready`](Schedule::ready): at the bench, connected,
/// with a first order claimed (operations falling due while 32 operators log on and claim at
/// once would be counted against the hub as if it had stalled).
struct Schedule {
    due: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Instant>>,
    ready: tokio::sync::Barrier,
    go: std::sync::mpsc::Sender<Instant>,
    /// When the first operation fell due.
    began: std::sync::OnceLock<Instant>,
}

impl Schedule {
    /// Makes `ops` operations due, `per_second` a second, the first at once when all
    /// `operators` are ready.
    ///
    /// tokio's own timer counts whole milliseconds, so an operation released by it would be
    /// sent up to a millisecond after it fell due, and that wait would be counted against
    /// the hub: a thread of its own sleeps until each instead.
    fn start(per_second: usize, ops: usize, operators: usize) -> anyhow::Result<Arc<Self>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (go, gone) = std::sync::mpsc::channel::<Instant>();
        let every = Duration::from_secs_f64(1.0 / per_second.max(1) as f64);
        std::thread::Builder::new()
            .name("schedule".into())
            .spawn(move || {
                let Ok(start) = gone.recv() else {
                    return;
                };
                for n in 0..ops {
                    let due = start + every.mul_f64(n as f64);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    if tx.send(due).is_err() {
                        return;
                    }
                }
            })
            .context("starting the schedule's thread")?;
        Ok(Arc::new(Self {
            due: tokio::sync::Mutex::new(rx),
            ready: tokio::sync::Barrier::new(operators),
            go,
            began: std::sync::OnceLock::new(),
        }))
    }

    /// An operator is ready; the last to be starts the schedule.
    async fn ready(&self) {
        if self.ready.wait().await.is_leader() {
            let at = *self.began.get_or_init(Instant::now);
            let _ = self.go.send(at);
        }
    }

    /// The instant the next operation fell due, once it has; `None` when all have been taken.
    async fn next(&self) -> Option<Instant> {
        self.due.lock().await.recv().await
    }
}

/// What an operations phase measured.
struct Worked {
    /// Each operation's latency, sorted: from when it was due (scheduled) or sent (as fast
    /// as answered) to its answer's last byte.
    lat: Vec<Duration>,
    /// How long after it was due each operation was sent, sorted (part of `lat`): the load
    /// generator's own delay, waiting for a free operator or for the CPU. Zero as fast as
    /// answered, where an operation is due when it is sent.
    late: Vec<Duration>,
    elapsed: f64,
}

/// Runs `ops` picks and packs at `pace` against the hub at `authority` (`host:port`), its
/// tenant's API under the path `api`.
async fn work_orders(
    authority: &str,
    api: &str,
    token: &str,
    pace: Pace,
    ops: usize,
    slow: Option<Duration>,
) -> anyhow::Result<Worked> {
    let (workers, schedule) = match pace {
        Pace::AsFastAsAnswered { clients } => (clients, None),
        Pace::Scheduled {
            per_second,
            operators,
        } => (
            operators,
            Some(Schedule::start(per_second, ops, operators)?),
        ),
    };
    let ops_per_worker = ops / workers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let mut hub = Connection::new(authority, token);
        let api = api.to_owned();
        let schedule = schedule.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(ops_per_worker);
            let mut late = Vec::with_capacity(ops_per_worker);
            let mut first = true;
            // Closed loop: a share of the operations each. Scheduled: until none is left due.
            'orders: while schedule.is_some() || lat.len() < ops_per_worker {
                let (status, claimed) = hub.post(&format!("{api}/orders/claim"), "").await?;
                if status != 200 {
                    bail!("claim failed ({status}): {}", String::from_utf8_lossy(claimed));
                }
                if let Some(s) = schedule.as_ref().filter(|_| std::mem::take(&mut first)) {
                    s.ready().await;
                }
                let claimed: Value = serde_json::from_slice(claimed)?;
                let order = &claimed["data"];
                let id = order["id"].as_str().context("claim (are there enough pending orders?)")?.to_owned();
                let mut bodies: Vec<String> = order["lines"]
                    .as_array()
                    .context("lines")?
                    .iter()
                    .map(|l| json!({"action": "pick", "items": [{"sku": l["sku"], "quantity": l["quantity"]}]}).to_string())
                    .collect();
                bodies.push(json!({"action": "pack", "package": {"weight": 2.5, "dimensions": {"length": 10, "width": 8, "height": 4}}}).to_string());
                let operations = format!("{api}/orders/{id}/operations");
                for body in bodies {
                    let due = match &schedule {
                        Some(s) => match s.next().await {
                            Some(due) => due,
                            None => break 'orders,
                        },
                        None => Instant::now(),
                    };
                    late.push(due.elapsed());
                    let (status, answer) = hub.post(&operations, &body).await?;
                    if status != 200 {
                        bail!("operation failed ({status}): {}", String::from_utf8_lossy(answer));
                    }
                    let took = due.elapsed();
                    lat.push(took);
                    if slow.is_some_and(|s| took > s) {
                        // The wall clock too, to match the hub's log lines (its checkpoints).
                        let due_at = packbench_core::ports::Clock::now(&packbench_core::ports::SystemClock)
                            - chrono::Duration::from_std(took).unwrap_or_default();
                        eprintln!(
                            "slow operation at {:.0} ms ({}): {:.1} ms",
                            (due - started).as_secs_f64() * 1000.0,
                            due_at.format("%H:%M:%S%.3f"),
                            took.as_secs_f64() * 1000.0
                        );
                    }
                }
            }
            anyhow::Ok((lat, late))
        }));
    }
    // The first failure at once: the others may be waiting for it at the schedule's start.
    let done = futures::future::try_join_all(tasks.into_iter().map(|t| async { t.await? })).await?;
    let (mut lat, mut late) = (Vec::new(), Vec::new());
    for (l, s) in done {
        lat.extend(l);
        late.extend(s);
    }
    // A scheduled phase's rate counts from its first operation's due time, after the
    // operators' first claims.
    let began = schedule.as_ref().and_then(|s| s.began.get().copied());
    let elapsed = began.unwrap_or(started).elapsed().as_secs_f64();
    lat.sort();
    late.sort();
    Ok(Worked { lat, late, elapsed })
}
