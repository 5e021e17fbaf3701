//! The `packbench` binary: serve on a SQLite file, and while it runs, add a tenant and a user
//! with the admin subcommands on the same database; then log in over HTTP.

#[allow(dead_code, reason = "each test binary uses part of it")]
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use common::{BIN, Hub, new_bench, run as packbench, user_add};

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

    let r = packbench(&db, &user_add("acme", "ann", "admin"), Some("short\n"));
    assert!(!r.status.success(), "passwords have at least 10 characters");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("10 to 1024"),
        "the policy is said"
    );
    let r = packbench(
        &db,
        &user_add("acme", "ann", "admin"),
        Some("a long password\n"),
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = packbench(
        &db,
        &user_add("acme", "ann", "operator"),
        Some("another long password\n"),
    );
    assert!(!r.status.success(), "a username is taken once");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("`ann` already exists"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = packbench(
        &db,
        &user_add("nope", "ann", "admin"),
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

/// `packbench` with `--database DB`, these environment variables and `args`: its output.
fn packbench_with(db: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--database")
        .arg(db)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The settings' secrets are sealed with the hub's key: the key file is made for its owner
/// alone, the database holds no secret in plain text, and a hub given another key refuses to
/// start, naming both keys.
#[tokio::test]
async fn the_hub_seals_secrets_with_a_key_kept_apart_and_refuses_another() {
    let dir = std::env::temp_dir().join(format!("packbench-key-{}", rand::random::<u64>()));
    let key_file = dir.join("keys").join("secret.key");
    let key_env = ("PACKBENCH_SECRET_KEY_FILE", key_file.to_str().unwrap());
    let db = packbench_store::testing::sqlite_url();
    new_bench(&db);
    let hub = Hub::start(&db, &[key_env]).await;
    hub.ok(
        reqwest::Method::PATCH,
        "/settings",
        Some(serde_json::json!({"ups": {"client_id": "id", "client_secret": "ups-very-secret", "account_number": "A1B2C3"}})),
    )
    .await;
    let (_, settings) = hub.call(reqwest::Method::GET, "/settings", None).await;
    assert_eq!(
        settings["data"]["ups"]["client_secret_set"], true,
        "{settings}"
    );
    hub.kill().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let file = std::fs::read(db.trim_start_matches("sqlite://")).unwrap();
    let wal =
        std::fs::read(format!("{}-wal", db.trim_start_matches("sqlite://"))).unwrap_or_default();
    let holds = |needle: &[u8]| {
        [&file, &wal]
            .iter()
            .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    };
    assert!(!holds(b"ups-very-secret"), "a secret in plain text");
    assert!(holds(b"sealed:v1:"));

    let other = packbench_store::SecretKey::generate();
    let other_text = other.to_text();
    let r = packbench_with(&db, &[("PACKBENCH_SECRET_KEY", &other_text)], &["migrate"]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success(), "another key was taken");
    assert!(
        stderr.contains("was sealed with key") && stderr.contains(other.id()),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&other_text),
        "the key itself is never printed"
    );
    let r = packbench_with(&db, &[key_env], &["migrate"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let _ = std::fs::remove_dir_all(dir);
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
    // 12 orders in the Shopify sim, imported through the real client: one is cancelled (not
    // imported); split ones bring only our location's part; the held one comes, not assignable.
    assert_eq!(orders["data"].as_array().unwrap().len(), 11, "{orders}");
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

/// A printer on loopback port "9100": answers `~HS` with the given flags and keeps every job.
fn fake_printer(paper_out: bool) -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            conn.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        if got.ends_with(b"~HS") {
                            let status = format!(
                                "\u{2}030,{},0,1218,000,0,0,0,000,0,0,0\u{3}\r\n\u{2}000,0,0,0,0,2,6,0,00000000,1,000\u{3}\r\n\u{2}1234,0\u{3}\r\n",
                                u8::from(paper_out)
                            );
                            conn.write_all(status.as_bytes()).unwrap();
                        }
                    }
                }
            }
            let _ = tx.send(got);
        }
    });
    (addr, rx)
}

#[test]
fn a_label_goes_to_a_9100_printer_after_a_status_check() {
    let dir = std::env::temp_dir().join(format!("packbench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let label = dir.join("label.zpl");
    std::fs::write(&label, "^XA^FO50,50^A0N,50,50^FDSAMPLE^FS^XZ").unwrap();
    let db = packbench_store::testing::sqlite_url();

    let (addr, jobs) = fake_printer(false);
    let to = format!("tcp://{addr}");
    let r = packbench(
        &db,
        &["device", "print", "--to", &to, label.to_str().unwrap()],
        None,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = jobs.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        got, b"~HS^XA^FO50,50^A0N,50,50^FDSAMPLE^FS^XZ",
        "status first, then the job, byte for byte"
    );

    let (addr, jobs) = fake_printer(true);
    let to = format!("tcp://{addr}");
    let r = packbench(
        &db,
        &["device", "print", "--to", &to, label.to_str().unwrap()],
        None,
    );
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("out of labels"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(
        jobs.recv_timeout(Duration::from_secs(5)).unwrap(),
        b"~HS",
        "nothing printed on an empty printer"
    );
    let r = packbench(&db, &["device", "status", "--to", &to], None);
    assert!(String::from_utf8_lossy(&r.stdout).contains("out of labels"));

    // A PNG label goes as a Z64 graphic field with the same dots.
    let mut img = image::GrayImage::from_pixel(812, 1218, image::Luma([255]));
    for x in 50..760 {
        img.put_pixel(x, 600, image::Luma([0]));
    }
    let png = dir.join("label.png");
    img.save(&png).unwrap();
    let (addr, jobs) = fake_printer(false);
    let r = packbench(
        &db,
        &[
            "device",
            "print",
            "--to",
            &format!("tcp://{addr}"),
            png.to_str().unwrap(),
        ],
        None,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = String::from_utf8(jobs.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap();
    assert!(
        got.starts_with("~HS^XA^PW812^LL1218^FO0,0^GFA,"),
        "{}",
        &got[..40]
    );
    let dots = packbench_labels::zpl::parse_graphic_field(&got).unwrap();
    assert!(dots.is_black(50, 600) && dots.is_black(759, 600) && !dots.is_black(50, 601));
    std::fs::write(dir.join("broken.png"), b"not a png").unwrap();
    let r = packbench(
        &db,
        &[
            "device",
            "print",
            "--to",
            &format!("tcp://{addr}"),
            dir.join("broken.png").to_str().unwrap(),
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("is not a readable PNG"));

    // Nobody listening: the error names the target.

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let r = packbench(
        &db,
        &["device", "status", "--to", &format!("tcp://{closed}")],
        None,
    );
    assert!(
        String::from_utf8_lossy(&r.stderr).contains(&closed),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_serial_scale_is_weighed_until_it_settles() {
    use std::io::Read;
    // A pseudo-terminal pair stands in for the USB-serial cable; the master side is the scale.
    let (mut scale, port) = serialport::TTYPort::pair().expect("a pseudo-terminal");
    let path = serialport::SerialPort::name(&port).expect("the port's path");
    std::thread::spawn(move || {
        let answers: [&[u8]; 2] = [b"\n0002.40lb\r\nM0\r\x03", b"\n0002.50lb\r\n00\r\x03"];
        let mut asked = 0;
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        serialport::SerialPort::set_timeout(&mut scale, Duration::from_secs(10)).unwrap();
        while asked < answers.len() {
            let Ok(n) = scale.read(&mut buf) else { return };
            got.extend_from_slice(&buf[..n]);
            while let Some(i) = got.windows(2).position(|w| w == b"W\r") {
                got.drain(..i + 2);
                scale.write_all(answers[asked]).unwrap();
                asked += 1;
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    });
    let db = packbench_store::testing::sqlite_url();
    let r = packbench(
        &db,
        &[
            "device",
            "weigh",
            "--scale",
            &format!("serial:{path}?protocol=nci&baud=9600"),
        ],
        None,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        "2.50 lb",
        "the settled weight, not the moving one"
    );
    let r = packbench(
        &db,
        &["device", "weigh", "--scale", "serial:/dev/does-not-exist"],
        None,
    );
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("/dev/does-not-exist"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = packbench(
        &db,
        &[
            "device",
            "weigh",
            "--scale",
            &format!("serial:{path}?protocol=x"),
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("nci or sics"));
    drop(port);
}

#[test]
fn a_hid_scale_is_weighed_through_its_hidraw_node() {
    // A FIFO stands in for /dev/hidraw: the scale's reports arrive one at a time, the first
    // (stale, from before the box) is dropped, the moving one is not a weight, the stable is.
    let dir = std::env::temp_dir().join(format!("packbench-hid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node = dir.join("hidraw7");
    let _ = std::fs::remove_file(&node);
    assert!(
        Command::new("mkfifo")
            .arg(&node)
            .status()
            .unwrap()
            .success()
    );
    let writer = {
        let node = node.clone();
        std::thread::spawn(move || {
            let mut scale = std::fs::OpenOptions::new().write(true).open(&node).unwrap();
            for report in [
                [0x03, 0x04, 0x0C, 0xFE, 0x10, 0x27], // stale: 100.00 lb
                [0x03, 0x03, 0x0C, 0xFE, 0x00, 0x03], // moving: 7.68 lb
                [0x03, 0x04, 0x0C, 0xFE, 0x11, 0x03], // stable: 7.85 lb
            ] {
                scale.write_all(&report).unwrap();
                std::thread::sleep(Duration::from_millis(150));
            }
        })
    };
    let db = packbench_store::testing::sqlite_url();
    let r = packbench(
        &db,
        &[
            "device",
            "weigh",
            "--scale",
            &format!("hid:{}", node.display()),
        ],
        None,
    );
    writer.join().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "7.85 lb");

    let r = packbench(
        &db,
        &["device", "weigh", "--scale", "hid:/dev/hidraw-not-here"],
        None,
    );
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = packbench(&db, &["device", "print", "--to", "lpt1", "x.zpl"], None);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("usb:VID:PID"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = packbench(&db, &["device", "list"], None);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
