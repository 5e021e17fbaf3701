//! The `packbench` binary as the tests run it: admin commands, and a hub process on a
//! database (started, logged in as `ann`, killed with SIGKILL). Shared by the test binaries
//! that need a real process; each uses what it needs.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const BIN: &str = env!("CARGO_BIN_EXE_packbench");
pub const PASSWORD: &str = "a long password";

/// Runs `packbench --database DB ARGS`, with `stdin` if any: its output.
pub fn run(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = std::process::Command::new(BIN)
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

/// Runs `packbench --database DB ARGS` with `stdin`, which must succeed.
pub fn admin_command(db: &str, args: &[&str], stdin: &str) {
    let out = run(db, args, Some(stdin));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `packbench user add`'s arguments.
pub fn user_add<'a>(tenant: &'a str, username: &'a str, role: &'a str) -> [&'a str; 8] {
    [
        "user",
        "add",
        "--tenant",
        tenant,
        "--username",
        username,
        "--role",
        role,
    ]
}

/// Tenant `acme` with its admin `ann`.
pub fn new_bench(db: &str) {
    admin_command(db, &["tenant", "add", "acme"], "");
    admin_command(
        db,
        &user_add("acme", "ann", "admin"),
        &format!("{PASSWORD}\n"),
    );
}

/// Logs in to the hub at `base` over HTTP: the session's bearer token.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    username: &str,
    password: &str,
) -> String {
    let login = login_answer(http, base, tenant, username, password).await;
    login["data"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{username} logs in: {login}"))
        .to_owned()
}

/// The hub's whole answer to a login over HTTP.
pub async fn login_answer(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    username: &str,
    password: &str,
) -> Value {
    http.post(format!("{base}/api/{tenant}/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every line of an order, whole: a pick's `items`.
pub fn all_items(order: &Value) -> Vec<Value> {
    order["data"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"sku": l["sku"], "quantity": l["quantity"]}))
        .collect()
}

pub struct Hub {
    pub process: tokio::process::Child,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Hub {
    /// `packbench serve` on `db` with these environment variables, logged in as `ann`.
    pub async fn start(db: &str, env: &[(&str, &str)]) -> Hub {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(["--database", db, "serve", "--bind", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("FAILPOINTS")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut process = command.spawn().unwrap();
        let mut out = BufReader::new(process.stdout.take().unwrap()).lines();
        let base = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
                .await
                .expect("the hub starts")
                .unwrap()
                .expect("the hub prints its address");
            if let Some(u) = line.strip_prefix("Packbench hub on ") {
                break u.to_owned();
            }
        };
        let http = reqwest::Client::new();
        let token = login(&http, &base, "acme", "ann", PASSWORD).await;
        Hub {
            process,
            base,
            token,
            http,
        }
    }

    /// A call under `/api/acme`: its status and body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/acme{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(120));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A call that must succeed: its body.
    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }

    /// SIGKILL, no shutdown.
    pub async fn kill(mut self) {
        self.process.start_kill().unwrap();
        self.process.wait().await.unwrap();
    }
}
