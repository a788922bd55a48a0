//! One error type for every handler, mapped to a stable JSON body:
//! `{"error": "<human text>", "code": "<stable_snake_case>"}`.
//!
//! 5xx bodies are generic; the real cause is logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed or fails validation.
    #[error("{0}")]
    BadRequest(String),
    /// 401: credentials missing or wrong. The message is the client-facing text.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409
    #[error("{0}")]
    Conflict(String),
    /// 413
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: rate limited or locked out; `retryAfter` (seconds) is added to the body.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: i64 },
    /// 503: a dependency (database) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything unexpected. Logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow_like::Error),
}

/// A minimal boxed error so internal failures keep their cause for the log.
pub mod anyhow_like {
    #[derive(Debug)]
    pub struct Error(pub Box<dyn std::error::Error + Send + Sync>);

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::error::Error for Error {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.0.source()
        }
    }
}

impl AppError {
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(anyhow_like::Error(e.into()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code, listed in docs/api.md.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound("Not found".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict("Already exists".into())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Self::Conflict("Referenced record does not exist or is still in use".into())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable("Database unavailable".into())
            }
            _ => Self::internal(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "Internal server error".to_owned()
            }
            Self::Unavailable(m) => {
                tracing::warn!(error = %m, "service unavailable");
                m.clone()
            }
            other => other.to_string(),
        };
        if let Self::TooManyRequests { retry_after, .. } = &self {
            let retry = (*retry_after).max(1);
            return (
                status,
                [(axum::http::header::RETRY_AFTER, retry.to_string())],
                Json(json!({ "error": message, "code": self.code(), "retryAfter": retry })),
            )
                .into_response();
        }
        (
            status,
            Json(json!({ "error": message, "code": self.code() })),
        )
            .into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body_of(e: AppError) -> (StatusCode, serde_json::Value) {
        let r = e.into_response();
        let status = r.status();
        let bytes = to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_arm_maps_to_status_and_code() {
        let cases = [
            (
                AppError::BadRequest("bad".into()),
                400,
                "bad_request",
                "bad",
            ),
            (
                AppError::Unauthorized("Invalid API credentials"),
                401,
                "unauthorized",
                "Invalid API credentials",
            ),
            (AppError::Forbidden("no".into()), 403, "forbidden", "no"),
            (AppError::NotFound("gone".into()), 404, "not_found", "gone"),
            (AppError::Conflict("dup".into()), 409, "conflict", "dup"),
            (
                AppError::PayloadTooLarge("big".into()),
                413,
                "payload_too_large",
                "big",
            ),
            (AppError::Unavailable("db".into()), 503, "unavailable", "db"),
            (
                AppError::TooManyRequests {
                    message: "slow down".into(),
                    retry_after: 42,
                },
                429,
                "too_many_requests",
                "slow down",
            ),
            (
                AppError::internal("secret detail"),
                500,
                "internal_error",
                "Internal server error",
            ),
        ];
        for (err, status, code, msg) in cases {
            let (s, body) = body_of(err).await;
            assert_eq!(s.as_u16(), status);
            assert_eq!(body["code"], code);
            assert_eq!(body["error"], msg);
            if status == 429 {
                assert_eq!(body["retryAfter"], 42);
            }
        }
    }
}
