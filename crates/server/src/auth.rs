//! Who is calling and what each role may do. Logins, sessions, passwords and tokens are the
//! accounts service's (`packbench_core::service::accounts`).

use packbench_core::domain::Role;
use packbench_core::model::{Tenant, User};

use crate::error::{ApiError, ApiResult};

pub const COOKIE: &str = "packbench_session";

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

pub use packbench_core::service::accounts::{SESSION_TTL_HOURS, hash_token, new_token};

/// Hashes a password for the store (argon2id), whatever the policy (tests and tools).
pub fn hash_password(password: &str) -> Result<String, packbench_core::error::Error> {
    packbench_core::service::accounts::hash_password(password)
}

#[cfg(test)]
mod tests {
    use super::*;

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
