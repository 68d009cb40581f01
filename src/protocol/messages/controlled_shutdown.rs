//! ControlledShutdown (key 7), versions 0-3: a broker asks the controller to
//! move leadership away before it stops. Maps to `ControlledShutdownRequest.json`
//! / `ControlledShutdownResponse.json`. v2 adds the broker epoch, v3 is flexible;
//! v0 requests use request header v0 (handled in `ApiKey`).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::ControlledShutdown;


#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlledShutdownRequest {
    pub broker_id: i32,
    /// v2+ (default -1)
    pub broker_epoch: i64,
    pub tagged_fields: TaggedFields,
}

impl Default for ControlledShutdownRequest {
    fn default() -> Self {
        ControlledShutdownRequest { broker_id: -1, broker_epoch: -1, tagged_fields: TaggedFields::default() }
    }
}

impl Message for ControlledShutdownRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        w.i32(self.broker_id);
        if version >= 2 {
            w.i64(self.broker_epoch);
        }
        if KEY.is_flexible(version) {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        let broker_id = r.i32()?;
        let broker_epoch = if version >= 2 { r.i64()? } else { -1 };
        Ok(ControlledShutdownRequest { broker_id, broker_epoch, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemainingPartition {
    pub topic_name: String,
    pub partition_index: i32,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlledShutdownResponse {
    pub error_code: ErrorCode,
    /// Partitions this broker still leads.
    pub remaining_partitions: Vec<RemainingPartition>,
    pub tagged_fields: TaggedFields,
}

impl Message for ControlledShutdownResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        w.i16(self.error_code);
        w.array(flexible, &self.remaining_partitions, |w, p| {
            w.string(flexible, &p.topic_name);
            w.i32(p.partition_index);
            if flexible {
                w.tagged_fields(&p.tagged_fields);
            }
        });
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        let error_code = r.i16()?;
        let remaining_partitions = r.array(flexible, |r| {
            Ok(RemainingPartition {
                topic_name: r.string(flexible)?,
                partition_index: r.i32()?,
                tagged_fields: r.tagged_fields_if(flexible)?,
            })
        })?;
        Ok(ControlledShutdownResponse { error_code, remaining_partitions, tagged_fields: r.tagged_fields_if(flexible)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_version() {
        for v in 0..=3 {
            let req = ControlledShutdownRequest {
                broker_id: 3,
                broker_epoch: if v >= 2 { 4242 } else { -1 },
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(ControlledShutdownRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap(), req);
            let resp = ControlledShutdownResponse {
                error_code: 0,
                remaining_partitions: vec![RemainingPartition {
                    topic_name: "t".into(),
                    partition_index: 2,
                    tagged_fields: TaggedFields::default(),
                }],
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(ControlledShutdownResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp);
        }
        assert_eq!(ControlledShutdownRequest { broker_id: 1, ..Default::default() }.to_bytes(1).unwrap().len(), 4);
        assert_eq!(ControlledShutdownRequest { broker_id: 1, ..Default::default() }.to_bytes(3).unwrap().len(), 13);
    }
}
