//! Redis storage for agent-commands and cross-replica delivery.
//!
//! Keys (all under the configured prefix):
//! - `{p}:q:agent-commands:ready` — sorted set of job ids scored by due time (ms);
//!   a Lua script pops the earliest due id atomically.
//! - `{p}:agent-owner:{api_id}` — the replica holding the agent's socket.
//! - `{p}:replica-alive:{replica_id}` — heartbeat (30 s TTL) of each replica.
//! - channel `{p}:replica:{replica_id}` — jobs handed to the owning replica.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::RedisUrl;
use super::{AGENT_COMMANDS, Claimed, Command};
use crate::state::AppState;

const POP_DUE: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZREM', KEYS[1], ids[1])
return ids[1]
";

const DEL_IF_EQ: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

pub struct RedisBroker {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

/// A job handed to the replica that holds the agent's socket.
#[derive(Debug, Serialize, Deserialize)]
struct Routed {
    job_id: Uuid,
    lease_token: String,
    api_id: String,
    command: String,
    attempt_number: i64,
    max_attempts: i64,
    from: String,
}

impl RedisBroker {
    pub async fn connect(url: &RedisUrl, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url.0.as_str())?;
        let conn = ConnectionManager::new(client.clone()).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn ready_key(&self) -> String {
        format!("{}:q:{AGENT_COMMANDS}:ready", self.prefix)
    }

    fn owner_key(&self, api_id: &str) -> String {
        format!("{}:agent-owner:{api_id}", self.prefix)
    }

    fn channel(&self, replica: &str) -> String {
        format!("{}:replica:{replica}", self.prefix)
    }

    fn alive_key(&self, replica: &str) -> String {
        format!("{}:replica-alive:{replica}", self.prefix)
    }

    /// Marks this replica alive for 30 s (refreshed by the maintenance loop).
    pub async fn heartbeat(&self, replica: &str) -> redis::RedisResult<()> {
        let mut c = self.conn.clone();
        let _: () = c.set_ex(self.alive_key(replica), 1, 30).await?;
        Ok(())
    }

    pub async fn replica_alive(&self, replica: &str) -> redis::RedisResult<bool> {
        let mut c = self.conn.clone();
        c.exists(self.alive_key(replica)).await
    }

    pub async fn push_ready(&self, id: Uuid, run_at: DateTime<Utc>) -> redis::RedisResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = c
            .zadd(self.ready_key(), id.to_string(), run_at.timestamp_millis())
            .await?;
        Ok(())
    }

    /// Re-adds due rows that are missing (a crash between pop and claim).
    pub async fn ensure_ready(&self, rows: &[(Uuid, DateTime<Utc>)]) -> redis::RedisResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(self.ready_key()).arg("NX");
        for (id, at) in rows {
            cmd.arg(at.timestamp_millis()).arg(id.to_string());
        }
        let mut c = self.conn.clone();
        let _: i64 = cmd.query_async(&mut c).await?;
        Ok(())
    }

    pub async fn pop_due(&self, now: DateTime<Utc>) -> redis::RedisResult<Option<Uuid>> {
        let mut c = self.conn.clone();
        let id: Option<String> = redis::Script::new(POP_DUE)
            .key(self.ready_key())
            .arg(now.timestamp_millis())
            .invoke_async(&mut c)
            .await?;
        Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
    }

    pub async fn remove_ready(&self, id: Uuid) -> redis::RedisResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = c.zrem(self.ready_key(), id.to_string()).await?;
        Ok(())
    }

    pub async fn ready_len(&self) -> redis::RedisResult<i64> {
        let mut c = self.conn.clone();
        c.zcard(self.ready_key()).await
    }

    pub async fn set_owner(&self, api_id: &str, replica: &str) -> redis::RedisResult<()> {
        let mut c = self.conn.clone();
        let _: () = c.set(self.owner_key(api_id), replica).await?;
        Ok(())
    }

    pub async fn owner_of(&self, api_id: &str) -> redis::RedisResult<Option<String>> {
        let mut c = self.conn.clone();
        c.get(self.owner_key(api_id)).await
    }

    pub async fn forget_owner(&self, api_id: &str, replica: &str) -> redis::RedisResult<()> {
        let mut c = self.conn.clone();
        let _: i64 = redis::Script::new(DEL_IF_EQ)
            .key(self.owner_key(api_id))
            .arg(replica)
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    /// Publishes the job to the owning replica; false when no replica listens there.
    pub async fn route(
        &self,
        owner: &str,
        job: &Claimed,
        api_id: &str,
        cmd: Command,
        from: &str,
    ) -> redis::RedisResult<bool> {
        let msg = Routed {
            job_id: job.id,
            lease_token: job.lease_token.clone().unwrap_or_default(),
            api_id: api_id.to_owned(),
            command: cmd.name().to_owned(),
            attempt_number: job.attempt_number,
            max_attempts: job.max_attempts,
            from: from.to_owned(),
        };
        let body = serde_json::to_string(&msg).unwrap_or_default();
        let mut c = self.conn.clone();
        let receivers: i64 = c.publish(self.channel(owner), body).await?;
        Ok(receivers > 0)
    }
}

/// Receives jobs routed to this replica and delivers them to local sockets.
pub async fn router_loop(state: AppState) {
    loop {
        if let Err(e) = router_once(&state).await {
            tracing::warn!(error = %e, "redis router stopped; reconnecting");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

async fn router_once(state: &AppState) -> redis::RedisResult<()> {
    let Some(broker) = state.queue().redis() else {
        return Ok(());
    };
    let mut pubsub = broker.client.get_async_pubsub().await?;
    pubsub
        .subscribe(broker.channel(&state.queue().replica_id))
        .await?;
    let mut stream = pubsub.into_on_message();
    while let Some(msg) = stream.next().await {
        let Ok(body) = msg.get_payload::<String>() else {
            continue;
        };
        let Ok(r) = serde_json::from_str::<Routed>(&body) else {
            tracing::warn!("unparseable routed job ignored");
            continue;
        };
        let Some(cmd) = Command::from_name(&r.command) else {
            continue;
        };
        let job = Claimed {
            id: r.job_id,
            job_name: r.command.clone(),
            host_id: state.hub().host_of(&r.api_id),
            api_id: Some(r.api_id.clone()),
            attempt_number: r.attempt_number,
            max_attempts: r.max_attempts,
            expires_at: None,
            lease_token: Some(r.lease_token.clone()),
        };
        let s = state.clone();
        tokio::spawn(async move {
            if let Err(e) = super::deliver_local(&s, &job, &r.api_id, cmd, Some(&r.from)).await {
                tracing::warn!(job = %job.id, error = %e, "routed delivery failed");
            }
        });
    }
    Ok(())
}
