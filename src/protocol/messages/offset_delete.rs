//! OffsetDelete (key 47), version 0 (never flexible): deletes a group's
//! committed offsets for partitions it no longer consumes. Maps to
//! `OffsetDeleteRequest.json` / `OffsetDeleteResponse.json`.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, Writer};

const KEY: ApiKey = ApiKey::OffsetDelete;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetDeleteRequest {
    pub group_id: String,
    pub topics: Vec<OffsetDeleteRequestTopic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetDeleteRequestTopic {
    pub name: String,
    pub partitions: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetDeleteResponse {
    pub error_code: ErrorCode,
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetDeleteResponseTopic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetDeleteResponseTopic {
    pub name: String,
    /// (partition index, error code)
    pub partitions: Vec<(i32, ErrorCode)>,
}

impl Message for OffsetDeleteRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.string(false, &self.group_id);
        w.array(false, &self.topics, |w, t| {
            w.string(false, &t.name);
            w.i32_array(false, &t.partitions);
        });
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        Ok(OffsetDeleteRequest {
            group_id: r.string(false)?,
            topics: r.array(false, |r| Ok(OffsetDeleteRequestTopic { name: r.string(false)?, partitions: r.i32_array(false)? }))?,
        })
    }
}

impl Message for OffsetDeleteResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i16(self.error_code);
        w.i32(self.throttle_time_ms);
        w.array(false, &self.topics, |w, t| {
            w.string(false, &t.name);
            w.array(false, &t.partitions, |w, (p, e)| {
                w.i32(*p);
                w.i16(*e);
            });
        });
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        Ok(OffsetDeleteResponse {
            error_code: r.i16()?,
            throttle_time_ms: r.i32()?,
            topics: r.array(false, |r| {
                Ok(OffsetDeleteResponseTopic { name: r.string(false)?, partitions: r.array(false, |r| Ok((r.i32()?, r.i16()?)))? })
            })?,
        })
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
    fn round_trip_and_bytes() {
        let req = OffsetDeleteRequest { group_id: "g".into(), topics: vec![OffsetDeleteRequestTopic { name: "t".into(), partitions: vec![0, 2] }] };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        let resp = OffsetDeleteResponse {
            error_code: 0,
            throttle_time_ms: 0,
            topics: vec![OffsetDeleteResponseTopic { name: "t".into(), partitions: vec![(1, 86)] }],
        };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 1, 0, 86]);
        assert!(req.to_bytes(1).is_err());
    }
}
