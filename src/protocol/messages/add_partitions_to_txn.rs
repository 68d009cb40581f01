//! AddPartitionsToTxn (key 24), versions 0-3 (flexible from v3): a
//! transactional producer tells its transaction coordinator which partitions
//! it is about to write to. Maps to `AddPartitionsToTxnRequest.json` /
//! `AddPartitionsToTxnResponse.json`. Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AddPartitionsToTxn;
const MIN: i16 = 0;
const MAX: i16 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddPartitionsToTxnRequest {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// (topic, partitions)
    pub topics: Vec<(String, Vec<i32>)>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddPartitionsToTxnResponse {
    pub throttle_time_ms: i32,
    /// (topic, [(partition, error)])
    pub results: Vec<(String, Vec<(i32, ErrorCode)>)>,
    pub tagged_fields: TaggedFields,
}

impl Message for AddPartitionsToTxnRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.string(flexible, &self.transactional_id);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.array(flexible, &self.topics, |w, (name, partitions)| {
            w.string(flexible, name);
            w.i32_array(flexible, partitions);
            if flexible {
                w.empty_tagged_fields();
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = AddPartitionsToTxnRequest {
            transactional_id: r.string(flexible)?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            ..Default::default()
        };
        m.topics = r.array(flexible, |r| {
            let t = (r.string(flexible)?, r.i32_array(flexible)?);
            r.tagged_fields_if(flexible)?;
            Ok(t)
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

impl Message for AddPartitionsToTxnResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.results, |w, (name, partitions)| {
            w.string(flexible, name);
            w.array(flexible, partitions, |w, (p, e)| {
                w.i32(*p);
                w.i16(*e);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = AddPartitionsToTxnResponse { throttle_time_ms: r.i32()?, ..Default::default() };
        m.results = r.array(flexible, |r| {
            let name = r.string(flexible)?;
            let partitions = r.array(flexible, |r| {
                let p = (r.i32()?, r.i16()?);
                r.tagged_fields_if(flexible)?;
                Ok(p)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok((name, partitions))
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
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
            let req = AddPartitionsToTxnRequest {
                transactional_id: "tx".into(),
                producer_id: 7,
                producer_epoch: 2,
                topics: vec![("a".into(), vec![0, 1]), ("b".into(), vec![])],
                ..Default::default()
            };
            round_trip(&req, v);
            let resp = AddPartitionsToTxnResponse {
                throttle_time_ms: 3,
                results: vec![("a".into(), vec![(0, 0), (1, 51)])],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = AddPartitionsToTxnRequest {
            transactional_id: "t".into(),
            producer_id: 1,
            producer_epoch: 0,
            topics: vec![("a".into(), vec![2])],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&req, 0)[..],
            &[0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 2]
        );
        assert_eq!(&round_trip(&req, 3)[..], &[2, b't', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 2, b'a', 2, 0, 0, 0, 2, 0, 0]);
        let resp = AddPartitionsToTxnResponse { results: vec![("a".into(), vec![(2, 48)])], ..Default::default() };
        assert_eq!(&round_trip(&resp, 3)[..], &[0, 0, 0, 0, 2, 2, b'a', 2, 0, 0, 0, 2, 0, 48, 0, 0, 0]);
        // a truncated body is an error, not a panic
        assert!(AddPartitionsToTxnRequest::from_bytes(Bytes::from_static(&[0, 1, b't', 0]), 0).is_err());
    }
}
