//! InitProducerId (key 22), versions 0-4: a producer asks for a producer id
//! and epoch (idempotence; transactions when `transactional_id` is set).
//! Maps to `InitProducerIdRequest.json` / `InitProducerIdResponse.json`:
//! v2 is the first flexible version, v3 adds the producer's current id and
//! epoch to the request, v4 only adds the PRODUCER_FENCED error.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::InitProducerId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// Null for an idempotent (non-transactional) producer.
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: i32,
    /// v3+ (default -1)
    pub producer_id: i64,
    /// v3+ (default -1)
    pub producer_epoch: i16,
    pub tagged_fields: TaggedFields,
}

impl Default for InitProducerIdRequest {
    fn default() -> Self {
        InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 0,
            producer_id: -1,
            producer_epoch: -1,
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl Message for InitProducerIdRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        w.nullable_string(flexible, self.transactional_id.as_deref());
        w.i32(self.transaction_timeout_ms);
        if version >= 3 {
            w.i64(self.producer_id);
            w.i16(self.producer_epoch);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        let transactional_id = r.nullable_string(flexible)?;
        let transaction_timeout_ms = r.i32()?;
        let (producer_id, producer_epoch) = if version >= 3 { (r.i64()?, r.i16()?) } else { (-1, -1) };
        Ok(InitProducerIdRequest {
            transactional_id,
            transaction_timeout_ms,
            producer_id,
            producer_epoch,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub tagged_fields: TaggedFields,
}

impl Default for InitProducerIdResponse {
    fn default() -> Self {
        InitProducerIdResponse {
            throttle_time_ms: 0,
            error_code: 0,
            producer_id: -1,
            producer_epoch: 0,
            tagged_fields: TaggedFields::default(),
        }
    }
}

impl Message for InitProducerIdResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 4)?;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        if KEY.is_flexible(version) {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 4)?;
        let flexible = KEY.is_flexible(version);
        Ok(InitProducerIdResponse {
            throttle_time_ms: r.i32()?,
            error_code: r.i16()?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            tagged_fields: r.tagged_fields_if(flexible)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_version() {
        for v in 0..=4 {
            for tid in [None, Some("txn-1".to_string())] {
                let req = InitProducerIdRequest {
                    transactional_id: tid,
                    transaction_timeout_ms: 60000,
                    producer_id: if v >= 3 { 1234 } else { -1 },
                    producer_epoch: if v >= 3 { 7 } else { -1 },
                    tagged_fields: TaggedFields::default(),
                };
                assert_eq!(InitProducerIdRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap(), req, "v{v}");
            }
            let resp = InitProducerIdResponse {
                throttle_time_ms: 0,
                error_code: 0,
                producer_id: 4000,
                producer_epoch: 0,
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(InitProducerIdResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp, "v{v}");
        }
    }

    #[test]
    fn wire_layout() {
        // v0: int16 -1 for a null string, int32 timeout.
        let req = InitProducerIdRequest { transaction_timeout_ms: 1, ..Default::default() };
        assert_eq!(&req.to_bytes(0).unwrap()[..], &[0xff, 0xff, 0, 0, 0, 1]);
        // v4: compact null string (0), timeout, id, epoch, empty tags.
        let b = req.to_bytes(4).unwrap();
        assert_eq!(b.len(), 1 + 4 + 8 + 2 + 1);
        assert_eq!(b[0], 0);
        // A v1 response is 16 bytes; v2 adds the tag count.
        let resp = InitProducerIdResponse::default();
        assert_eq!(resp.to_bytes(1).unwrap().len(), 16);
        assert_eq!(resp.to_bytes(2).unwrap().len(), 17);
        // Unsupported versions are refused.
        assert!(req.to_bytes(5).is_err());
    }
}
