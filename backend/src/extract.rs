//! Extractors whose rejections use our JSON error shape.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::agents::api::{RawBody, decode};
use crate::error::AppError;

/// A JSON body; bad JSON or wrong types give 400, an oversized body 413.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if bytes.is_empty() {
            return decode(b"{}").map(Self);
        }
        decode(&bytes).map(Self)
    }
}

/// Path parameters; a malformed one (e.g. not a UUID) gives 400.
pub struct AppPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for AppPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v))
            .map_err(|e| AppError::BadRequest(format!("Invalid path parameter: {}", e.body_text())))
    }
}
