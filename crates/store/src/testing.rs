//! Databases for tests and benchmarks: a fresh SQLite file, or a fresh database on the
//! PostgreSQL server named by `PACKBENCH_TEST_POSTGRES_URL` (`.ci/run` and `make test` start one).

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

/// The environment variable naming a PostgreSQL server (any database on it) for tests.
pub const POSTGRES_URL_VAR: &str = "PACKBENCH_TEST_POSTGRES_URL";
/// When set to 1, a missing PostgreSQL server fails the tests instead of skipping them.
pub const REQUIRE_POSTGRES_VAR: &str = "PACKBENCH_REQUIRE_POSTGRES";

fn suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.random_range(0..26)))
        .collect()
}

/// A URL for a new SQLite file in the system temp dir.
pub fn sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!("packbench-test-{}.sqlite", suffix()));
    crate::sqlite_url(&path)
}

/// A URL for a new, empty PostgreSQL database; `None` (with a note on stderr) when no server
/// is configured, unless PostgreSQL is required, in which case it panics.
pub async fn postgres_url() -> Option<String> {
    let Ok(admin) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") {
            panic!(
                "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: start PostgreSQL (make test does)"
            );
        }
        eprintln!("note: PostgreSQL tests skipped: set {POSTGRES_URL_VAR} (make test does)");
        return None;
    };
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&admin)
        .await
        .expect("connect to the test PostgreSQL server");
    let name = format!("packbench_test_{}", suffix());
    pool.execute(format!("create database {name}").as_str())
        .await
        .expect("create a test database");
    pool.close().await;
    let base = match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => &admin[..i],
        _ => admin.as_str(),
    };
    let query = admin.find('?').map(|i| &admin[i..]).unwrap_or("");
    Some(format!("{base}/{name}{query}"))
}

/// The URL itself: what `on_both_databases!` hands a test when told nothing else.
pub async fn url(url: String) -> String {
    url
}

/// Runs each named test function (an `async fn`, found at `$at`) on a fresh SQLite file and,
/// when a server is set up, on a fresh PostgreSQL database: the one way the workspace's tests
/// cover both databases. The function is given the database's URL, or with `; given $make`
/// what `$make(url).await` builds from it (a store, a test hub; `$make` is a path from the
/// crate root). Test names read `sqlite::name` and `postgres::name` inside the module it is
/// called in.
#[macro_export]
macro_rules! on_both_databases {
    ($at:path : $($name:ident),* $(,)?) => {
        $crate::on_both_databases!($at : $($name),* ; given $crate::testing::url);
    };
    ($at:path : $($name:ident),* ; given $make:path) => {
        mod sqlite {
            use $at as tests;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    tests::$name($make($crate::testing::sqlite_url()).await).await;
                }
            )*
        }
        mod postgres {
            use $at as tests;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(url) = $crate::testing::postgres_url().await {
                        tests::$name($make(url).await).await;
                    }
                }
            )*
        }
    };
}
