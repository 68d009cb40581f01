//! AlterClientQuotas (key 49), versions 0-1 (flexible from v1): sets or
//! removes quota values of client quota entities (user, client-id and their
//! defaults). Maps to `AlterClientQuotasRequest.json` /
//! `AlterClientQuotasResponse.json`. Tagged fields are kept on the top-level
//! structs only.

use crate::protocol::messages::describe_client_quotas::{read_entity, write_entity, EntityData};
use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::AlterClientQuotas;
const MIN: i16 = 0;
const MAX: i16 = 1;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterClientQuotasRequest {
    pub entries: Vec<AlterEntryData>,
    pub validate_only: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterEntryData {
    pub entity: Vec<EntityData>,
    pub ops: Vec<OpData>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpData {
    pub key: String,
    pub value: f64,
    pub remove: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterClientQuotasResponse {
    pub throttle_time_ms: i32,
    pub entries: Vec<AlterEntryResponse>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterEntryResponse {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub entity: Vec<EntityData>,
}

impl Message for AlterClientQuotasRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.entries, |w, e| {
            write_entity(w, flexible, &e.entity);
            w.array(flexible, &e.ops, |w, o| {
                w.string(flexible, &o.key);
                w.f64(o.value);
                w.bool(o.remove);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            if flexible {
                w.empty_tagged_fields();
            }
        });
        w.bool(self.validate_only);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let entries = r.array(flexible, |r| {
            let entity = read_entity(r, flexible)?;
            let ops = r.array(flexible, |r| {
                let o = OpData { key: r.string(flexible)?, value: r.f64()?, remove: r.bool()? };
                r.tagged_fields_if(flexible)?;
                Ok(o)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(AlterEntryData { entity, ops })
        })?;
        let validate_only = r.bool()?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(AlterClientQuotasRequest { entries, validate_only, tagged_fields })
    }
}

impl Message for AlterClientQuotasResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.array(flexible, &self.entries, |w, e| {
            w.i16(e.error_code);
            w.nullable_string(flexible, e.error_message.as_deref());
            write_entity(w, flexible, &e.entity);
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
        let throttle_time_ms = r.i32()?;
        let entries = r.array(flexible, |r| {
            let e = AlterEntryResponse { error_code: r.i16()?, error_message: r.nullable_string(flexible)?, entity: read_entity(r, flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(e)
        })?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(AlterClientQuotasResponse { throttle_time_ms, entries, tagged_fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::test_util::assert_prefixes_fail;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn entity() -> Vec<EntityData> {
        vec![
            EntityData { entity_type: "user".into(), entity_name: Some("alice".into()) },
            EntityData { entity_type: "client-id".into(), entity_name: None },
        ]
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = AlterClientQuotasRequest {
                entries: vec![AlterEntryData {
                    entity: entity(),
                    ops: vec![
                        OpData { key: "producer_byte_rate".into(), value: 1024.0, remove: false },
                        OpData { key: "request_percentage".into(), value: 0.0, remove: true },
                    ],
                }],
                validate_only: true,
                ..Default::default()
            };
            round_trip(&req, v);
            assert_prefixes_fail(&req, v);
            let resp = AlterClientQuotasResponse {
                throttle_time_ms: 7,
                entries: vec![AlterEntryResponse { error_code: 42, error_message: Some("Invalid configuration key x".into()), entity: entity() }],
                ..Default::default()
            };
            round_trip(&resp, v);
            assert_prefixes_fail(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = AlterClientQuotasRequest {
            entries: vec![AlterEntryData {
                entity: vec![EntityData { entity_type: "u".into(), entity_name: Some("a".into()) }],
                ops: vec![OpData { key: "k".into(), value: 2.0, remove: true }],
            }],
            validate_only: false,
            ..Default::default()
        };
        let mut want = vec![0, 0, 0, 1, 0, 0, 0, 1, 0, 1, b'u', 0, 1, b'a', 0, 0, 0, 1, 0, 1, b'k'];
        want.extend_from_slice(&2.0f64.to_be_bytes());
        want.extend_from_slice(&[1, 0]);
        assert_eq!(&round_trip(&req, 0)[..], &want[..]);
        let resp = AlterClientQuotasResponse {
            entries: vec![AlterEntryResponse { error_code: 0, error_message: None, entity: vec![EntityData { entity_type: "u".into(), entity_name: None }] }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 1)[..], &[0, 0, 0, 0, 2, 0, 0, 0, 2, 2, b'u', 0, 0, 0, 0]);
    }
}
