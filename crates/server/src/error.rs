//! The one error type of the HTTP layer and its envelope:
//! `{"error": {"code", "message", "details"?}}` with the fitting status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use packbench_core::{Error as CoreError, ErrorCode};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_details(json!({"field": field}))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(permission: &str) -> Self {
        Self::new(
            ErrorCode::Forbidden,
            format!("your role may not do this (needs `{permission}`); ask an admin"),
        )
        .with_details(json!({"permission": permission}))
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    pub fn body(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.details {
            e["details"] = d.clone();
        }
        json!({ "error": e })
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            // The chain goes to the log; the client gets no internals.
            tracing::error!(error = ?e, "internal error");
            return Self::new(
                code,
                "something went wrong on the hub; try again, and tell an admin if it persists",
            );
        }
        if code == ErrorCode::LabelNotRecorded {
            tracing::error!(error = ?e, "a label was bought but not recorded");
        }
        let details = e.details();
        Self {
            code,
            message: e.to_string(),
            details,
            retry_after: e.retry_after_secs(),
        }
    }
}

impl From<packbench_core::domain::ParseError> for ApiError {
    fn from(e: packbench_core::domain::ParseError) -> Self {
        CoreError::Invalid(e).into()
    }
}

impl From<packbench_core::ports::StoreError> for ApiError {
    fn from(e: packbench_core::ports::StoreError) -> Self {
        CoreError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
