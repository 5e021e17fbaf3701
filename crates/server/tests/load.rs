//! `packbench-load`, the hub's benchmark (BENCHMARKS.md), still runs end to end: a small
//! database on SQLite and on PostgreSQL, every phase, a row for each. No figure is checked
//! here (this is a debug build sharing the machine with other tests): only that each phase
//! did the operations it was asked for and measured them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LOAD: &str = env!("CARGO_BIN_EXE_packbench-load");
const HUB: &str = env!("CARGO_BIN_EXE_packbench");

/// Longest a run may take (a hang, e.g. operators waiting for each other at the schedule's
/// start, fails the test instead of stalling the suite).
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs the generator on `database`: its rows, by column.
fn run(database: &str, args: &[&str]) -> Vec<Vec<String>> {
    let mut child = Command::new(LOAD)
        .args(["--database", database, "--packbench", HUB])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start packbench-load");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).map(|_| text)
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("packbench-load did not finish in {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap().unwrap();
    let stderr = stderr.join().unwrap().unwrap();
    assert!(
        status.success(),
        "packbench-load failed:\n{stdout}\n{stderr}"
    );
    stdout
        .lines()
        .filter(|l| l.starts_with("| SQLite") || l.starts_with("| PostgreSQL"))
        .map(|l| l.split('|').map(|c| c.trim().to_owned()).collect())
        .collect()
}

/// A figure in milliseconds (`1.23 ms`).
fn ms(cell: &str) -> f64 {
    cell.strip_suffix(" ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{cell:?} is not a figure in ms"))
}

fn every_phase_runs(database: &str, plain: bool) {
    let mut args = vec![
        "--orders",
        "600",
        "--lists",
        "20",
        "--clients",
        "1,4",
        "--rates",
        "400",
        "--operators",
        "8",
        "--ops",
        "300",
        "--settle-ms",
        "100",
    ];
    if plain {
        args.push("--plain");
    }
    let rows = run(database, &args);
    let path = if plain { ", plain path" } else { "" };
    assert!(
        rows.iter()
            .all(|r| r[1] == format!("SQLite{path}") || r[1] == format!("PostgreSQL{path}")),
        "{rows:?}"
    );
    assert_eq!(rows.len(), 3, "one row per phase: {rows:?}");
    // Columns: "", backend, orders, list p50, list p99, ops, clients, offered, op p50, op p99,
    // sent late p99, ops/s, hub CPU, load CPU, machine CPU, stolen, RSS.
    let offered: Vec<&str> = rows.iter().map(|r| r[7].as_str()).collect();
    assert_eq!(offered, ["as answered", "as answered", "400/s"]);
    let clients: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(clients, ["1", "4", "8"]);
    for r in &rows {
        assert_eq!(r[2], "600");
        let ops: usize = r[5].parse().unwrap();
        // The closed loop finishes each client's last order; the schedule stops at 300.
        assert!(ops >= 300, "{r:?}");
        assert!(ms(&r[3]) > 0.0 && ms(&r[4]) >= ms(&r[3]), "{r:?}");
        assert!(ms(&r[8]) > 0.0 && ms(&r[9]) >= ms(&r[8]), "{r:?}");
        let rate: f64 = r[11].parse().unwrap();
        assert!(rate > 0.0, "{r:?}");
    }
    assert_eq!(
        rows[2][5], "300",
        "the schedule makes exactly --ops operations due"
    );
    // 300 operations at 400 a second take 0.75 s: the rate is that of the schedule, give or
    // take a slow debug hub.
    let paced: f64 = rows[2][11].parse().unwrap();
    assert!(paced <= 410.0, "paced at 400/s but measured {paced}/s");
}

#[test]
fn the_benchmark_runs_on_sqlite() {
    every_phase_runs(&packbench_store::testing::sqlite_url(), false);
}

/// `--plain`: the hub serves on the store's plain reference path, what the fast path is
/// measured against.
#[test]
fn the_benchmark_runs_on_the_plain_path() {
    every_phase_runs(&packbench_store::testing::sqlite_url(), true);
}

#[tokio::test]
async fn the_benchmark_runs_on_postgres() {
    if let Some(url) = packbench_store::testing::postgres_url().await {
        tokio::task::spawn_blocking(move || every_phase_runs(&url, false))
            .await
            .unwrap();
    }
}

#[test]
fn a_phase_of_no_clients_is_refused() {
    let out = Command::new(LOAD)
        .args(["--database", "sqlite::memory:", "--clients", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a whole number of at least 1"), "{err}");
}
