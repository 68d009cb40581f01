//! EndTxn (key 26), versions 0-3 (flexible from v3): a transactional producer
//! asks its coordinator to commit or abort the ongoing transaction. Maps to
//! `EndTxnRequest.json` / `EndTxnResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::EndTxn;
const MIN: i16 = 0;
const MAX: i16 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// true to commit, false to abort
    pub committed: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndTxnResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

impl Message for EndTxnRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.bool(self.committed);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        Ok(EndTxnRequest {
            transactional_id: r.string(flexible)?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            committed: r.bool()?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

impl Message for EndTxnResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        Ok(EndTxnResponse { throttle_time_ms: r.i32()?, error_code: r.i16()?, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            for committed in [true, false] {
                round_trip(&EndTxnRequest { transactional_id: "tx".into(), producer_id: 3, producer_epoch: 4, committed, ..Default::default() }, v);
            }
            round_trip(&EndTxnResponse { throttle_time_ms: 1, error_code: 48, ..Default::default() }, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = EndTxnRequest { transactional_id: "t".into(), producer_id: 1, producer_epoch: 0, committed: true, ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(&round_trip(&req, 3)[..], &[2, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
        assert_eq!(&round_trip(&EndTxnResponse { error_code: 49, ..Default::default() }, 3)[..], &[0, 0, 0, 0, 0, 49, 0]);
    }
}
