//! Accounts: tenants and their users, logins and sessions, with one password policy for every
//! way in (the API, the CLI, the desktop's first run, the demo).
//!
//! Passwords are hashed with argon2id. A session token is 32 random bytes shown to the client
//! once; only its SHA-256 is stored, so a database leak gives no usable tokens.
//!
//! Guessing is throttled without handing anyone a way to lock others out:
//! - per account (existing or not, so names cannot be probed): past [`ACCOUNT_SLOW_FROM`]
//!   attempts in [`ATTEMPTS_WINDOW`], each attempt waits before its password is checked,
//!   longer each time up to [`ACCOUNT_DELAY_MAX`]; the right password still gets in after
//!   that short wait, and clears the count;
//! - per client address: past [`ADDRESS_LIMIT`] failed attempts in the window, the address is
//!   refused (429) until the window has passed; other stations are not affected;
//! - both counts are taken before the password is checked, each in one statement, so guesses
//!   sent at once each count;
//! - password checks (argon2id: ~19 MiB each) run [`HASHING_AT_ONCE`] at a time, with at
//!   most [`HASHING_QUEUE`] waiting; more are refused at once, before any work.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Fulfillment;
use crate::domain::{ParseError, Role, TenantId, TenantSlug};
use crate::error::{Error, Result};
use crate::model::{Tenant, Timestamp, User};
use crate::ports::Session;

/// How long a session lasts: a long shift.
pub const SESSION_TTL_HOURS: i64 = 12;
/// The shortest password any way in accepts.
pub const PASSWORD_MIN: usize = 10;
/// The longest (argon2 hashes whatever it is given; a bound keeps that cheap).
pub const PASSWORD_MAX: usize = 1024;
/// Attempts on one account in [`ATTEMPTS_WINDOW`] before each further one waits.
pub const ACCOUNT_SLOW_FROM: u32 = 5;
/// The longest an attempt on a throttled account waits before its password is checked.
pub const ACCOUNT_DELAY_MAX: std::time::Duration = std::time::Duration::from_secs(8);
/// Failed attempts from one client address in [`ATTEMPTS_WINDOW`] before it is refused.
pub const ADDRESS_LIMIT: u32 = 30;
/// How long attempts are remembered after the last one.
pub const ATTEMPTS_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// Password checks at once (each ~19 MiB and tens of milliseconds of a core).
pub const HASHING_AT_ONCE: usize = 4;
/// Password checks waiting for their turn before more are refused.
pub const HASHING_QUEUE: usize = 64;

/// How long the `attempt`-th attempt on an account waits before its password is checked:
/// nothing up to [`ACCOUNT_SLOW_FROM`], then 1 s, 2 s, 4 s... up to [`ACCOUNT_DELAY_MAX`].
pub fn account_delay(attempt: u32) -> std::time::Duration {
    match attempt.checked_sub(ACCOUNT_SLOW_FROM + 1) {
        None => std::time::Duration::ZERO,
        Some(n) => std::time::Duration::from_secs(1u64 << n.min(16)).min(ACCOUNT_DELAY_MAX),
    }
}

/// Where password checks wait their turn.
pub(super) struct Hashing {
    turns: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for Hashing {
    fn default() -> Self {
        Self {
            turns: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
            waiting: 0.into(),
        }
    }
}

impl Hashing {
    /// A turn to hash, or a refusal when [`HASHING_QUEUE`] checks already wait.
    async fn turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= HASHING_QUEUE {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::TooManyAttempts {
                message: "the hub is checking many passwords at once; try again in a few seconds"
                    .into(),
                retry_after_secs: 5,
            });
        }
        let turn = self.turns.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        turn.map_err(|e| Error::Internal(e.to_string()))
    }

    /// `f` on a blocking thread, in turn.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _turn = self.turn().await?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }
}

fn account_key(username: &str) -> String {
    username.to_owned()
}

/// Usernames have no spaces (`parse_username`), so an address key is never an account's.
fn address_key(client: std::net::IpAddr) -> String {
    format!("address {client}")
}

/// The password policy, for a new password (a login checks nothing but the hash).
pub fn check_new_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < PASSWORD_MIN || password.len() > PASSWORD_MAX {
        return Err(ParseError {
            field: "password",
            message: format!(
                "must be {PASSWORD_MIN} to {PASSWORD_MAX} characters (this one has {n})"
            ),
        }
        .into());
    }
    Ok(())
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash that verifies nothing, checked against when a username is unknown so that a login
/// for a missing user takes as long as one for a real user.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "pbt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A login that worked: the token (shown once) and whom it is for.
pub struct LoginOk {
    pub token: String,
    pub user: User,
    pub expires_at: Timestamp,
}

impl Fulfillment {
    /// A new password, checked against the policy and hashed off the async threads, in turn.
    async fn hash_new_password(&self, password: &str) -> Result<String> {
        check_new_password(password)?;
        let p = password.to_owned();
        self.hashing.run(move || hash_password(&p)).await?
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        Ok(self.store.tenant_by_slug(slug).await?)
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.store.tenants().await?)
    }

    /// A new tenant (a warehouse). Its slug must be free.
    pub async fn create_tenant(&self, slug: &TenantSlug, name: &str) -> Result<Tenant> {
        if self.store.tenant_by_slug(slug.as_str()).await?.is_some() {
            return Err(Error::Conflict(format!(
                "a warehouse called `{slug}` already exists here"
            )));
        }
        Ok(self
            .store
            .create_tenant(slug, name, self.clock.now())
            .await?)
    }

    /// A tenant and its first admin, as the desktop's first run makes them.
    pub async fn create_tenant_with_admin(
        &self,
        slug: &TenantSlug,
        name: &str,
        username: &str,
        password: &str,
    ) -> Result<(Tenant, User)> {
        check_new_password(password)?;
        let tenant = self.create_tenant(slug, name).await?;
        let user = self
            .set_user(&tenant.id, username, Role::Admin, password)
            .await?;
        Ok((tenant, user))
    }

    /// Adds a user, or gives an existing one this password (their role stays).
    pub async fn set_user(
        &self,
        tenant: &TenantId,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<User> {
        let hash = self.hash_new_password(password).await?;
        match self.store.credentials(tenant, username).await? {
            Some((user, _)) => {
                self.store.set_password(tenant, &user.id, &hash).await?;
                Ok(user)
            }
            None => Ok(self
                .store
                .create_user(tenant, username, &hash, role, self.clock.now())
                .await?),
        }
    }

    /// Adds a user to a warehouse; a username already taken there is refused (to give an
    /// existing user a new password, see [`Fulfillment::set_user`]).
    pub async fn add_user(
        &self,
        tenant: &TenantId,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<User> {
        let hash = self.hash_new_password(password).await?;
        if self.store.credentials(tenant, username).await?.is_some() {
            return Err(Error::Conflict(format!(
                "a user called `{username}` already exists in this warehouse"
            )));
        }
        Ok(self
            .store
            .create_user(tenant, username, &hash, role, self.clock.now())
            .await?)
    }

    /// Lets go of login attempt counts quiet for longer than [`ATTEMPTS_WINDOW`] (they would
    /// start over at the next attempt anyway): a sweep, so made-up usernames and passing
    /// devices do not grow the table for ever. Answers how many were let go.
    pub async fn forget_stale_login_attempts(&self, tenant: &TenantId) -> Result<u64> {
        let before = self.clock.now() - ATTEMPTS_WINDOW;
        Ok(self
            .store
            .forget_stale_login_attempts(tenant, before)
            .await?)
    }

    /// Checks a username and password and opens a session. `client` is the address the
    /// attempt came from, when known (see the module's notes on throttling).
    pub async fn login(
        &self,
        tenant: &Tenant,
        username: &str,
        password: &str,
        station_id: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Result<LoginOk> {
        let now = self.clock.now();
        let fresh_since = now - ATTEMPTS_WINDOW;
        let count = |key: String, delta: i64| async move {
            self.store
                .count_login_attempts(&tenant.id, &key, delta, now, fresh_since)
                .await
        };
        if let Some(client) = client {
            let from_here = count(address_key(client), 1).await?;
            if from_here > ADDRESS_LIMIT {
                let secs = ATTEMPTS_WINDOW.num_seconds() as u64;
                return Err(Error::TooManyAttempts {
                    message: format!(
                        "too many failed logins from this device ({client}): try again in {} minutes, or ask an admin",
                        secs / 60
                    ),
                    retry_after_secs: secs,
                });
            }
        }
        let attempt = count(account_key(username), 1).await?;
        // Waits before the check, never refuses: the right password gets in after it.
        tokio::time::sleep(account_delay(attempt)).await;
        let creds = self.store.credentials(&tenant.id, username).await?;
        let hash = creds
            .as_ref()
            .map(|(_, h)| h.as_str())
            .unwrap_or_else(|| decoy_hash())
            .to_owned();
        let p = password.to_owned();
        let password_ok = self.hashing.run(move || verify_password(&p, &hash)).await?;
        let Some((user, _)) = creds.filter(|_| password_ok) else {
            return Err(Error::Unauthorized("wrong username or password".into()));
        };
        self.store
            .clear_login_attempts(&tenant.id, &account_key(username))
            .await?;
        if let Some(client) = client {
            // A right password is not a failure of the address.
            count(address_key(client), -1).await?;
        }
        let token = new_token();
        let expires_at = now + chrono::Duration::hours(SESSION_TTL_HOURS);
        self.store
            .create_session(
                &tenant.id,
                &hash_token(&token),
                &user.id,
                station_id,
                now,
                expires_at,
            )
            .await?;
        Ok(LoginOk {
            token,
            user,
            expires_at,
        })
    }

    /// The session a token's hash opens, while it lasts.
    pub async fn session(
        &self,
        tenant: &TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>> {
        Ok(self.store.session(tenant, token_hash, now).await?)
    }

    pub async fn end_session(&self, tenant: &TenantId, token_hash: &str) -> Result<()> {
        Ok(self
            .store
            .end_session(tenant, token_hash, self.clock.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn a_throttled_account_waits_longer_each_time_up_to_a_short_bound() {
        let waits: Vec<u64> = (1..=12).map(|n| account_delay(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 0, 0, 1, 2, 4, 8, 8, 8, 8]);
        assert_eq!(account_delay(u32::MAX), ACCOUNT_DELAY_MAX);
    }

    #[tokio::test]
    async fn password_checks_run_a_few_at_a_time_and_a_long_queue_is_refused() {
        let hashing = std::sync::Arc::new(Hashing::default());
        let (release, released) = tokio::sync::watch::channel(false);
        let mut running = Vec::new();
        for _ in 0..HASHING_AT_ONCE + HASHING_QUEUE {
            let (hashing, mut released) = (hashing.clone(), released.clone());
            running.push(tokio::spawn(async move {
                let _turn = hashing.turn().await.expect("a turn, in time");
                let _ = released.wait_for(|r| *r).await;
            }));
        }
        // Every task has its turn or waits for one.
        while hashing.turns.available_permits() > 0
            || hashing.waiting.load(std::sync::atomic::Ordering::Acquire) < HASHING_QUEUE
        {
            tokio::task::yield_now().await;
        }
        let refused = hashing.turn().await;
        assert!(
            matches!(refused, Err(Error::TooManyAttempts { .. })),
            "one more than the queue holds is refused at once"
        );
        release.send(true).unwrap();
        for r in running {
            r.await.unwrap();
        }
        assert!(
            hashing.turn().await.is_ok(),
            "and taken again once it drains"
        );
    }

    #[test]
    fn one_password_policy() {
        assert!(check_new_password("short pw").is_err(), "8 characters");
        assert!(check_new_password("ten chars!").is_ok());
        assert!(check_new_password(&"x".repeat(1025)).is_err());
        let e = check_new_password("abc").unwrap_err();
        assert!(e.to_string().contains("10 to 1024"), "{e}");
    }
}
