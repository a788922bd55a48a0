//! The one shared application state, passed to every handler.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::agents::hub::Hub;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::hosts::auth_cache::AuthCache;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub hub: Hub,
    pub clock: Arc<dyn Clock>,
    pub auth_cache: AuthCache,
    pub limiters: crate::auth::ratelimit::Limiters,
    pub oidc: crate::auth::oidc::OidcState,
    pub install: crate::install::InstallState,
    pub queue: crate::queue::Queue,
    /// The notification HTTP client, built on first use.
    pub notify_sender: std::sync::OnceLock<Result<crate::notify::guard::Sender, String>>,
}

impl AppState {
    pub fn new(config: Config, db: Db, clock: Arc<dyn Clock>) -> Self {
        crate::install_crypto_provider();
        Self(Arc::new(Inner {
            config,
            db,
            hub: Hub::default(),
            clock,
            auth_cache: AuthCache::default(),
            limiters: Default::default(),
            oidc: Default::default(),
            install: Default::default(),
            queue: Default::default(),
            notify_sender: Default::default(),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn auth_cache(&self) -> &AuthCache {
        &self.0.auth_cache
    }

    pub fn notify_sender(
        &self,
    ) -> &std::sync::OnceLock<Result<crate::notify::guard::Sender, String>> {
        &self.0.notify_sender
    }

    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }

    /// In-memory rate limiters of the auth endpoints.
    pub fn limiters(&self) -> &crate::auth::ratelimit::Limiters {
        &self.0.limiters
    }

    /// The job queue runtime of this replica.
    pub fn queue(&self) -> &crate::queue::Queue {
        &self.0.queue
    }

    /// Cached OpenID Connect discovery.
    pub fn oidc(&self) -> &crate::auth::oidc::OidcState {
        &self.0.oidc
    }

    /// Agent installer state (binary cache, exchange rate limit).
    pub fn install(&self) -> &crate::install::InstallState {
        &self.0.install
    }
}
