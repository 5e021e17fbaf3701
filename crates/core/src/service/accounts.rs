//! Accounts: tenants and their users, logins and sessions, with one password policy for every
//! way in (the API, the CLI, the desktop's first run, the demo).
//!
//! Passwords are hashed with argon2id. A session token is 32 random bytes shown to the client
//! once; only its SHA-256 is stored, so a database leak gives no usable tokens. Failed logins
//! are counted per username (existing or not, so names cannot be probed): from the third they
//! are slowed, from the fifth the name is locked for a while.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Fulfillment;
use crate::domain::{ParseError, Role, TenantId, TenantSlug};
use crate::error::{Error, Result};
use crate::model::{Tenant, Timestamp, User};
use crate::ports::{LoginFailures, Session};

/// How long a session lasts: a long shift.
pub const SESSION_TTL_HOURS: i64 = 12;
/// The shortest password any way in accepts.
pub const PASSWORD_MIN: usize = 10;
/// The longest (argon2 hashes whatever it is given; a bound keeps that cheap).
pub const PASSWORD_MAX: usize = 1024;
const SLOW_FROM: u32 = 3;
const LOCK_AT: u32 = 5;
const LOCK_MINUTES: i64 = 5;

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

/// A new password, checked against the policy and hashed off the async threads.
async fn hash_new_password(password: &str) -> Result<String> {
    check_new_password(password)?;
    let p = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
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
        let hash = hash_new_password(password).await?;
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
        let hash = hash_new_password(password).await?;
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

    /// Checks a username and password and opens a session.
    pub async fn login(
        &self,
        tenant: &Tenant,
        username: &str,
        password: &str,
        station_id: Option<&str>,
    ) -> Result<LoginOk> {
        let now = self.clock.now();
        let failures = self.store.login_failures(&tenant.id, username).await?;
        if let Some(until) = failures.locked_until
            && until > now
        {
            let secs = (until - now).num_seconds().max(1) as u64;
            return Err(Error::TooManyAttempts {
                message: format!(
                    "too many failed logins for `{username}`: try again in {} minute(s), or ask an admin",
                    secs.div_ceil(60)
                ),
                retry_after_secs: secs,
            });
        }
        let creds = self.store.credentials(&tenant.id, username).await?;
        let hash = creds
            .as_ref()
            .map(|(_, h)| h.as_str())
            .unwrap_or_else(|| decoy_hash());
        let password_ok = {
            let (p, h) = (password.to_owned(), hash.to_owned());
            tokio::task::spawn_blocking(move || verify_password(&p, &h))
                .await
                .unwrap_or(false)
        };
        match creds {
            Some((user, _)) if password_ok => {
                if failures.count > 0 {
                    self.store
                        .set_login_failures(&tenant.id, username, LoginFailures::default())
                        .await?;
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
            _ => {
                let count = failures.count + 1;
                let locked_until =
                    (count >= LOCK_AT).then(|| now + chrono::Duration::minutes(LOCK_MINUTES));
                self.store
                    .set_login_failures(
                        &tenant.id,
                        username,
                        LoginFailures {
                            count,
                            locked_until,
                        },
                    )
                    .await?;
                if count >= SLOW_FROM {
                    // Slow repeated guessing down before answering.
                    tokio::time::sleep(std::time::Duration::from_millis(
                        250 * u64::from(count - SLOW_FROM + 1),
                    ))
                    .await;
                }
                Err(Error::Unauthorized("wrong username or password".into()))
            }
        }
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
    fn one_password_policy() {
        assert!(check_new_password("short pw").is_err(), "8 characters");
        assert!(check_new_password("ten chars!").is_ok());
        assert!(check_new_password(&"x".repeat(1025)).is_err());
        let e = check_new_password("abc").unwrap_err();
        assert!(e.to_string().contains("10 to 1024"), "{e}");
    }
}
