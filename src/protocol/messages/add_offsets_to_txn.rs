//! AddOffsetsToTxn (key 25), versions 0-3 (flexible from v3): a transactional
//! producer adds its consumer group's `__consumer_offsets` partition to the
//! transaction before TxnOffsetCommit. Maps to `AddOffsetsToTxnRequest.json` /
//! `AddOffsetsToTxnResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AddOffsetsToTxn;
const MIN: i16 = 0;
const MAX: i16 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddOffsetsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub group_id: String,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddOffsetsToTxnResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub tagged_fields: TaggedFields,
}

impl Message for AddOffsetsToTxnRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.string(flexible, &self.group_id);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        Ok(AddOffsetsToTxnRequest {
            transactional_id: r.string(flexible)?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            group_id: r.string(flexible)?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

impl Message for AddOffsetsToTxnResponse {
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
        Ok(AddOffsetsToTxnResponse { throttle_time_ms: r.i32()?, error_code: r.i16()?, tagged_fields: r.tagged_fields_if(flexible)? })
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
            round_trip(
                &AddOffsetsToTxnRequest { transactional_id: "tx".into(), producer_id: 9, producer_epoch: 1, group_id: "g".into(), ..Default::default() },
                v,
            );
            round_trip(&AddOffsetsToTxnResponse { throttle_time_ms: 5, error_code: 47, ..Default::default() }, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = AddOffsetsToTxnRequest { transactional_id: "t".into(), producer_id: 1, producer_epoch: 2, group_id: "g".into(), ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, b'g']);
        assert_eq!(&round_trip(&req, 3)[..], &[2, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, b'g', 0]);
        let resp = AddOffsetsToTxnResponse { error_code: 90, ..Default::default() };
        assert_eq!(&round_trip(&resp, 1)[..], &[0, 0, 0, 0, 0, 90]);
        assert_eq!(&round_trip(&resp, 3)[..], &[0, 0, 0, 0, 0, 90, 0]);
    }
}
