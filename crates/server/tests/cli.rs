//! The `packbench` binary: serve on a SQLite file, and while it runs, add a tenant and a user
//! with the admin subcommands on the same database; then log in over HTTP.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_packbench");

fn packbench(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admin_commands_work_beside_a_running_hub() {
    let db = packbench_store::testing::sqlite_url();
    let mut hub = tokio::process::Command::new(BIN)
        .args(["--database", &db, "serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(hub.stdout.take().unwrap()).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), out.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("the hub prints its address");
        if let Some(u) = line.strip_prefix("Packbench hub on ") {
            break u.to_owned();
        }
    };

    let r = packbench(&db, &["tenant", "add", "acme"], None);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = packbench(&db, &["tenant", "add", "acme"], None);
    assert!(!r.status.success(), "a tenant is added once");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = packbench(&db, &["tenant", "add", "Bad Slug"], None);
    assert!(!r.status.success());

    let r = packbench(
        &db,
        &[
            "user",
            "add",
            "--tenant",
            "acme",
            "--username",
            "ann",
            "--role",
            "admin",
        ],
        Some("short\n"),
    );
    assert!(!r.status.success(), "passwords have at least 8 characters");
    let r = packbench(
        &db,
        &[
            "user",
            "add",
            "--tenant",
            "acme",
            "--username",
            "ann",
            "--role",
            "admin",
        ],
        Some("a long password\n"),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = packbench(
        &db,
        &[
            "user",
            "add",
            "--tenant",
            "nope",
            "--username",
            "ann",
            "--role",
            "admin",
        ],
        Some("a long password\n"),
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("no tenant `nope`"));
    assert!(packbench(&db, &["migrate"], None).status.success());

    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/acme/auth/login"))
        .json(&serde_json::json!({"username": "ann", "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["data"]["user"]["role"], "admin", "{login}");
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    hub.kill().await.unwrap();
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut hub.stderr.take().unwrap(), &mut err)
        .await
        .unwrap();
    assert!(
        err.contains("/api/acme/auth/login") && err.contains("status=200"),
        "one line per request: {err}"
    );
    assert!(
        !err.contains("a long password"),
        "passwords never reach the log"
    );
}

#[tokio::test]
async fn the_demo_prints_its_logins_and_serves_sample_orders() {
    let db = packbench_store::testing::sqlite_url();
    let mut demo = tokio::process::Command::new(BIN)
        .args([
            "--database",
            &db,
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--orders",
            "12",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(demo.stdout.take().unwrap()).lines();
    let (mut packer, mut base) = (String::new(), String::new());
    while base.is_empty() {
        let line = tokio::time::timeout(Duration::from_secs(20), out.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(p) = line.trim().strip_prefix("packer / ") {
            packer = p.to_owned();
        }
        if let Some(u) = line.strip_prefix("Packbench hub on ") {
            base = u.to_owned();
        }
    }
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/demo/auth/login"))
        .json(&serde_json::json!({"username": "packer", "password": packer}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["token"]
        .as_str()
        .expect("the printed password works")
        .to_owned();
    let orders: serde_json::Value = http
        .get(format!("{base}/api/demo/orders?status=pending"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders["data"].as_array().unwrap().len(), 12);
    let stock: serde_json::Value = http
        .get(format!("{base}/api/demo/inventory"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stock["data"].as_array().unwrap().len(),
        11,
        "eleven SKUs stocked, one left unrecorded on purpose"
    );
}
