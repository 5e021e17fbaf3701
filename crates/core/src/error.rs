//! What services answer when they cannot do what was asked. Each variant says what happened in
//! the warehouse's words and carries a stable [`ErrorCode`] that clients switch on.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::ParseError;
use crate::ports::{CarrierError, StoreError};
use crate::workflow::Refusal;

/// Stable, machine-readable error codes (mirrored by the UI). Add one only when a client reacts to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidTransition,
    PickRejected,
    /// A packed box is off its expected weight: held until it is right or overridden.
    WeightMismatch,
    /// The label scanned is not this box's: another order's, a voided one, or no label.
    WrongLabel,
    /// A label is being bought for the order (another station, a double click, a batch).
    LabelInProgress,
    /// A label was bought but could not be recorded: never retried blindly, adopted next time.
    LabelNotRecorded,
    Conflict,
    IdempotencyKeyReused,
    RequestInProgress,
    RequestInterrupted,
    PayloadTooLarge,
    TooManyAttempts,
    CarrierNotConfigured,
    ShopNotConfigured,
    CarrierRejected,
    CarrierUnavailable,
    ShopUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::InvalidTransition
            | Self::Conflict
            | Self::LabelInProgress
            | Self::IdempotencyKeyReused
            | Self::RequestInProgress
            | Self::RequestInterrupted => 409,
            Self::PayloadTooLarge => 413,
            Self::ValidationFailed
            | Self::PickRejected
            | Self::WeightMismatch
            | Self::WrongLabel
            | Self::CarrierRejected => 422,
            Self::TooManyAttempts => 429,
            Self::CarrierUnavailable | Self::ShopUnavailable => 502,
            Self::CarrierNotConfigured | Self::ShopNotConfigured => 503,
            Self::Internal | Self::LabelNotRecorded => 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "UPS shipping is not set up for this warehouse: add UPS credentials and the shipper address in settings"
    )]
    CarrierNotConfigured,
    #[error("no Shopify store is connected: add the shop domain and access token in settings")]
    ShopNotConfigured,
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    #[error(transparent)]
    Shop(#[from] crate::ports::ShopError),
    #[error("internal error")]
    Store(#[source] StoreError),
    /// The carrier sold the label but it could not be recorded on the order. The order stays
    /// reserved for that label, which the next attempt adopts instead of buying another.
    #[error(
        "the label was bought (shipment {shipment}) but could not be recorded on the order; ship again in a moment and that same label is used, never a second one"
    )]
    LabelNotRecorded {
        shipment: crate::domain::ShipmentId,
        #[source]
        source: StoreError,
    },
    /// Wrong credentials (never saying which part was wrong).
    #[error("{0}")]
    Unauthorized(String),
    /// Too many failed logins for one name: wait, or ask an admin.
    #[error("{message}")]
    TooManyAttempts {
        message: String,
        retry_after_secs: u64,
    },
    /// A field of a document (its path, e.g. `scale.vendor_id`) that does not hold.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The caller's role may not do this (the message says who may).
    #[error("{0}")]
    Forbidden(String),
    /// A packed box weighs other than its items and box should: held before a label is
    /// bought, with the difference and its likely cause.
    #[error("held: {}", .0.message())]
    WeightHeld(Box<crate::weighing::Weighing>),
    /// A label scanned onto a box that is not that box's label.
    #[error("{message}")]
    WrongLabel {
        message: String,
        /// The order the scanned label belongs to, if it is one of ours.
        belongs_to: Option<crate::domain::OrderId>,
    },
    /// Something on the hub failed that the caller cannot act on (the cause goes to the log).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Error::Conflict(format!(
                "{what}: someone else changed it at the same time; reload and try again"
            )),
            StoreError::NotFound(what) => Error::NotFound {
                what,
                id: String::new(),
            },
            other => Error::Store(other),
        }
    }
}

impl Error {
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Invalid(_) | Self::InvalidField { .. } => ErrorCode::ValidationFailed,
            Self::Refused(Refusal::InvalidTransition { .. }) => ErrorCode::InvalidTransition,
            Self::Refused(Refusal::PickRejected { .. }) => ErrorCode::PickRejected,
            Self::Refused(Refusal::Invalid(_)) => ErrorCode::ValidationFailed,
            Self::Refused(Refusal::LabelInProgress { .. }) => ErrorCode::LabelInProgress,
            Self::LabelNotRecorded { .. } => ErrorCode::LabelNotRecorded,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::CarrierNotConfigured => ErrorCode::CarrierNotConfigured,
            Self::ShopNotConfigured => ErrorCode::ShopNotConfigured,
            Self::Carrier(CarrierError::Rejected { .. }) => ErrorCode::CarrierRejected,
            Self::Carrier(CarrierError::Unavailable { .. } | CarrierError::Unconfirmed { .. }) => {
                ErrorCode::CarrierUnavailable
            }
            Self::Shop(_) => ErrorCode::ShopUnavailable,
            Self::Store(_) | Self::Internal(_) => ErrorCode::Internal,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::WeightHeld(_) => ErrorCode::WeightMismatch,
            Self::WrongLabel { .. } => ErrorCode::WrongLabel,
            Self::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
        }
    }

    /// Structured details for the client, when there are any.
    /// How long to wait before asking again, when the answer is "not now".
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyAttempts {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    pub fn details(&self) -> Option<Value> {
        match self {
            Self::Invalid(p) => Some(json!({"field": p.field})),
            Self::InvalidField { field, .. } => Some(json!({"field": field})),
            Self::Refused(Refusal::PickRejected { problems }) => Some(json!({"items": problems})),
            Self::Refused(Refusal::InvalidTransition { from, action, .. }) => {
                Some(json!({"status": from, "action": action}))
            }
            Self::Refused(Refusal::LabelInProgress { shipment }) => {
                Some(json!({"shipment_id": shipment}))
            }
            Self::LabelNotRecorded { shipment, .. } => Some(json!({"shipment_id": shipment})),
            Self::WeightHeld(w) => Some(json!({"weight": w})),
            Self::WrongLabel { belongs_to, .. } => Some(json!({"belongs_to_order": belongs_to})),
            Self::Carrier(CarrierError::Rejected { code, .. }) => {
                Some(json!({"carrier_code": code}))
            }
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
