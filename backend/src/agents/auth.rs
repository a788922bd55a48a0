//! `X-API-ID` / `X-API-KEY` authentication for agent routes and the agent
//! WebSocket upgrade: SHA-256 of the key compared in constant time with the
//! stored hash, which comes from a short-lived cache or one indexed lookup.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::hosts::{self, AgentIdentity, credentials};
use crate::state::AppState;

/// The authenticated host behind an agent request.
pub struct AgentAuth(pub AgentIdentity);

pub const MISSING: &str = "API credentials required";
pub const INVALID: &str = "Invalid API credentials";

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let (Some(api_id), Some(api_key)) = (header("x-api-id"), header("x-api-key")) else {
            return Err(AppError::Unauthorized(MISSING));
        };
        if api_id.len() > 128 || api_key.len() > 256 {
            return Err(AppError::Unauthorized(INVALID));
        }
        if let Some((id, hash)) = state.auth_cache().get(api_id)
            && credentials::verify_secret(api_key, &hash)
        {
            return Ok(Self(AgentIdentity {
                id,
                api_id: api_id.to_owned(),
                api_key_hash: hash,
            }));
        }
        match hosts::find_by_api_id(state.db(), api_id).await? {
            Some(h) if credentials::verify_secret(api_key, &h.api_key_hash) => {
                state.auth_cache().put(api_id, h.id, &h.api_key_hash);
                Ok(Self(AgentIdentity {
                    id: h.id,
                    api_id: h.api_id,
                    api_key_hash: h.api_key_hash,
                }))
            }
            Some(_) => {
                tracing::info!(api_id, "agent presented a wrong api key");
                Err(AppError::Unauthorized(INVALID))
            }
            None => {
                // Same work as a real check, so timing does not reveal which api_ids exist.
                let _ = credentials::verify_secret(api_key, "");
                Err(AppError::Unauthorized(INVALID))
            }
        }
    }
}
