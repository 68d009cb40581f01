//! Producer id allocation (Kafka's `kafka.coordinator.transaction.ProducerIdManager`):
//! brokers claim blocks of 1000 ids through `/latest_producer_id_block`
//! (`{"version":1,"broker":B,"block_start":"S","block_end":"E"}`, both ends
//! inclusive, as strings) with a conditional setData on the znode version,
//! and hand out ids from their current block. The first block is claimed on
//! the first request rather than at startup.

use crate::zk::zk_data::LATEST_PRODUCER_ID_BLOCK_PATH;
use crate::zk::{KafkaZkClient, ZkError};
use serde_json::Value;
use tokio::sync::Mutex;

pub const PID_BLOCK_SIZE: i64 = 1000;
const CURRENT_VERSION: i64 = 1;

/// One claimed range of producer ids, `[block_start, block_end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    pub broker_id: i32,
    pub block_start: i64,
    pub block_end: i64,
}

/// Kafka's JSON, keys in Kafka's order.
pub fn encode_block(b: &ProducerIdBlock) -> Vec<u8> {
    format!(
        "{{\"version\":{CURRENT_VERSION},\"broker\":{},\"block_start\":\"{}\",\"block_end\":\"{}\"}}",
        b.broker_id, b.block_start, b.block_end
    )
    .into_bytes()
}

fn long_field(m: &serde_json::Map<String, Value>, key: &str) -> Result<i64, String> {
    match m.get(key) {
        Some(Value::String(s)) => s.parse().map_err(|_| format!("{key} {s:?} is not a number")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("{key} {n} is not a long")),
        _ => Err(format!("{key} is missing")),
    }
}

/// Parses the znode; `Ok(None)` for empty data (no block claimed yet).
pub fn decode_block(data: &[u8]) -> Result<Option<ProducerIdBlock>, String> {
    if data.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(data).map_err(|e| format!("not JSON: {e}"))?;
    let m = v.as_object().ok_or("not a JSON object")?;
    let broker_id = match m.get("broker").and_then(Value::as_i64) {
        Some(b) if i32::try_from(b).is_ok() => b as i32,
        _ => return Err("broker is missing or not an int".into()),
    };
    Ok(Some(ProducerIdBlock {
        broker_id,
        block_start: long_field(m, "block_start")?,
        block_end: long_field(m, "block_end")?,
    }))
}

/// The block after `current` (`[0, 999]` if none), claimed for `broker_id`.
pub fn next_block(current: Option<&ProducerIdBlock>, broker_id: i32) -> Result<ProducerIdBlock, String> {
    match current {
        None => Ok(ProducerIdBlock { broker_id, block_start: 0, block_end: PID_BLOCK_SIZE - 1 }),
        Some(c) if c.block_end > i64::MAX - PID_BLOCK_SIZE => {
            Err(format!("producer ids exhausted: current block ends at {}", c.block_end))
        }
        Some(c) => Ok(ProducerIdBlock { broker_id, block_start: c.block_end + 1, block_end: c.block_end + PID_BLOCK_SIZE }),
    }
}

struct State {
    block: Option<ProducerIdBlock>,
    next_id: i64,
}

pub struct ProducerIdManager {
    broker_id: i32,
    zk: KafkaZkClient,
    state: Mutex<State>,
}

impl ProducerIdManager {
    pub fn new(broker_id: i32, zk: KafkaZkClient) -> ProducerIdManager {
        ProducerIdManager { broker_id, zk, state: Mutex::new(State { block: None, next_id: 0 }) }
    }

    /// Claims the next block in ZooKeeper, retrying on version conflicts.
    async fn claim_block(&self) -> Result<ProducerIdBlock, String> {
        let path = LATEST_PRODUCER_ID_BLOCK_PATH;
        for _ in 0..100 {
            let current = self.zk.get_data(path).await.map_err(|e| e.to_string())?;
            let (block, version) = match &current {
                Some((data, stat)) => {
                    let cur = decode_block(data).map_err(|e| format!("bad {path} data: {e}"))?;
                    (next_block(cur.as_ref(), self.broker_id)?, Some(stat.version))
                }
                None => (next_block(None, self.broker_id)?, None),
            };
            let data = encode_block(&block);
            let written = match version {
                Some(v) => self.zk.conditional_set_data(path, &data, v).await.map_err(|e| e.to_string())?.is_some(),
                None => match self.zk.create_recursive(path, &data).await {
                    Ok(()) => true,
                    Err(ZkError::NodeExists(_)) => false,
                    Err(e) => return Err(e.to_string()),
                },
            };
            if written {
                log::info!("acquired producer id block {}-{} ({path})", block.block_start, block.block_end);
                return Ok(block);
            }
            log::debug!("{path} changed under us; retrying");
        }
        Err(format!("could not claim a producer id block in {path}: too many conflicts"))
    }

    /// A fresh producer id (Kafka's `generateProducerId`).
    pub async fn generate_producer_id(&self) -> Result<i64, String> {
        let mut st = self.state.lock().await;
        let exhausted = st.block.map_or(true, |b| st.next_id > b.block_end);
        if exhausted {
            let b = self.claim_block().await?;
            st.block = Some(b);
            st.next_id = b.block_start;
        }
        let id = st.next_id;
        st.next_id += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let b = ProducerIdBlock { broker_id: 3, block_start: 4000, block_end: 4999 };
        assert_eq!(
            String::from_utf8(encode_block(&b)).unwrap(),
            r#"{"version":1,"broker":3,"block_start":"4000","block_end":"4999"}"#
        );
        assert_eq!(decode_block(&encode_block(&b)).unwrap(), Some(b));
        assert_eq!(decode_block(b"").unwrap(), None);
        // Numbers are tolerated, garbage is not.
        assert_eq!(
            decode_block(br#"{"version":1,"broker":1,"block_start":0,"block_end":999}"#).unwrap(),
            Some(ProducerIdBlock { broker_id: 1, block_start: 0, block_end: 999 })
        );
        assert!(decode_block(b"{").is_err());
        assert!(decode_block(br#"{"version":1,"broker":1,"block_start":"x","block_end":"1"}"#).is_err());
        assert!(decode_block(br#"{"version":1,"block_start":"0","block_end":"1"}"#).is_err());
    }

    #[test]
    fn blocks_follow_each_other() {
        let first = next_block(None, 0).unwrap();
        assert_eq!(first, ProducerIdBlock { broker_id: 0, block_start: 0, block_end: 999 });
        let second = next_block(Some(&first), 2).unwrap();
        assert_eq!(second, ProducerIdBlock { broker_id: 2, block_start: 1000, block_end: 1999 });
        let last = ProducerIdBlock { broker_id: 0, block_start: 0, block_end: i64::MAX - 10 };
        assert!(next_block(Some(&last), 0).is_err());
    }
}
