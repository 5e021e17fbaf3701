//! Logins, sessions and what each role may do.
//!
//! Passwords are hashed with argon2id. A session token is 32 random bytes shown to the client
//! once; only its SHA-256 is stored, so a database leak gives no usable tokens. Failed logins
//! are counted per username (existing or not): from the third they are slowed, from the fifth
//! the name is locked for a while.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use chrono::Duration as ChronoDuration;
use packbench_core::ErrorCode;
use packbench_core::domain::Role;
use packbench_core::model::{Tenant, Timestamp, User};
use packbench_core::ports::{LoginFailures, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

pub const COOKIE: &str = "packbench_session";
/// How long a session lasts: a long shift.
pub const SESSION_TTL_HOURS: i64 = 12;
const SLOW_FROM: u32 = 3;
const LOCK_AT: u32 = 5;
const LOCK_MINUTES: i64 = 5;

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Tenant,
    pub user: User,
    pub station_id: Option<String>,
    pub token_hash: String,
}

/// What a role may do. The UI shows or hides actions by these names (`GET capabilities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    OrdersRead,
    OrdersWork,
    OrdersCancel,
    LabelsVoid,
    ShipmentsRead,
    ShipmentsCreate,
    InventoryRead,
    InventoryWrite,
    SettingsRead,
    SettingsWrite,
    DeviceSettingsWrite,
    SyncRun,
    SyncClear,
    BatchesRun,
    /// The shop's privacy requests (they hold customer details): admins only.
    PrivacyRead,
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Self::OrdersRead,
        Self::OrdersWork,
        Self::OrdersCancel,
        Self::LabelsVoid,
        Self::ShipmentsRead,
        Self::ShipmentsCreate,
        Self::InventoryRead,
        Self::InventoryWrite,
        Self::SettingsRead,
        Self::SettingsWrite,
        Self::DeviceSettingsWrite,
        Self::SyncRun,
        Self::SyncClear,
        Self::BatchesRun,
        Self::PrivacyRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrdersRead => "orders.read",
            Self::OrdersWork => "orders.work",
            Self::OrdersCancel => "orders.cancel",
            Self::LabelsVoid => "labels.void",
            Self::ShipmentsRead => "shipments.read",
            Self::ShipmentsCreate => "shipments.create",
            Self::InventoryRead => "inventory.read",
            Self::InventoryWrite => "inventory.write",
            Self::SettingsRead => "settings.read",
            Self::SettingsWrite => "settings.write",
            Self::DeviceSettingsWrite => "device_settings.write",
            Self::SyncRun => "sync.run",
            Self::SyncClear => "sync.clear",
            Self::BatchesRun => "batches.run",
            Self::PrivacyRead => "privacy.read",
        }
    }

    /// Operators work orders at the bench; admins also cancel, void, configure and clear.
    pub fn granted_to(self, role: Role) -> bool {
        match role {
            Role::Admin => true,
            Role::Operator => matches!(
                self,
                Self::OrdersRead
                    | Self::OrdersWork
                    | Self::ShipmentsRead
                    | Self::ShipmentsCreate
                    | Self::InventoryRead
                    | Self::SettingsRead
                    | Self::SyncRun
                    | Self::BatchesRun
            ),
        }
    }
}

impl Caller {
    pub fn require(&self, p: Permission) -> ApiResult<()> {
        if p.granted_to(self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(p.as_str()))
        }
    }
}

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
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

pub struct LoginOk {
    pub token: String,
    pub user: User,
    pub expires_at: Timestamp,
}

/// Checks a username and password and opens a session.
pub async fn login(
    store: &dyn Store,
    tenant: &Tenant,
    username: &str,
    password: &str,
    station_id: Option<&str>,
    now: Timestamp,
) -> ApiResult<LoginOk> {
    let failures = store.login_failures(&tenant.id, username).await?;
    if let Some(until) = failures.locked_until
        && until > now
    {
        let secs = (until - now).num_seconds().max(1) as u64;
        let mut e = ApiError::new(
            ErrorCode::TooManyAttempts,
            format!(
                "too many failed logins for `{username}`: try again in {} minute(s), or ask an admin",
                secs.div_ceil(60)
            ),
        );
        e.retry_after = Some(secs);
        return Err(e);
    }
    let creds = store.credentials(&tenant.id, username).await?;
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
                store
                    .set_login_failures(&tenant.id, username, LoginFailures::default())
                    .await?;
            }
            let token = new_token();
            let expires_at = now + ChronoDuration::hours(SESSION_TTL_HOURS);
            store
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
                (count >= LOCK_AT).then(|| now + ChronoDuration::minutes(LOCK_MINUTES));
            store
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
                tokio::time::sleep(Duration::from_millis(
                    250 * u64::from(count - SLOW_FROM + 1),
                ))
                .await;
            }
            Err(ApiError::unauthorized("wrong username or password"))
        }
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
    fn operators_may_not_use_admin_permissions() {
        for p in Permission::ALL {
            assert!(p.granted_to(Role::Admin));
        }
        assert!(!Permission::SettingsWrite.granted_to(Role::Operator));
        assert!(!Permission::SyncClear.granted_to(Role::Operator));
        assert!(Permission::OrdersWork.granted_to(Role::Operator));
    }
}
