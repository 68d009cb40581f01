//! DescribeClientQuotas (key 48), versions 0-1 (flexible from v1): lists the
//! client quota entities (user, client-id and their defaults) matching a
//! filter, with their quota values. Maps to `DescribeClientQuotasRequest.json`
//! / `DescribeClientQuotasResponse.json`. Tagged fields are kept on the
//! top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeClientQuotas;
const MIN: i16 = 0;
const MAX: i16 = 1;

/// `MatchType` of a filter component: an exact name.
pub const MATCH_EXACT: i8 = 0;
/// The default entity (`<default>`).
pub const MATCH_DEFAULT: i8 = 1;
/// Any specified (non-default) name... or, in Kafka's broker, any entity of the type.
pub const MATCH_ANY: i8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeClientQuotasRequest {
    pub components: Vec<ComponentData>,
    pub strict: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentData {
    pub entity_type: String,
    pub match_type: i8,
    pub match_: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClientQuotasResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub entries: Option<Vec<EntryData>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntryData {
    pub entity: Vec<EntityData>,
    pub values: Vec<ValueData>,
}

/// One (type, name) pair of a quota entity; `entity_name` None = the default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityData {
    pub entity_type: String,
    pub entity_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValueData {
    pub key: String,
    pub value: f64,
}

impl Message for DescribeClientQuotasRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.components, |w, c| {
            w.string(flexible, &c.entity_type);
            w.i8(c.match_type);
            w.nullable_string(flexible, c.match_.as_deref());
            if flexible {
                w.empty_tagged_fields();
            }
        });
        w.bool(self.strict);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let components = r.array(flexible, |r| {
            let c = ComponentData { entity_type: r.string(flexible)?, match_type: r.i8()?, match_: r.nullable_string(flexible)? };
            r.tagged_fields_if(flexible)?;
            Ok(c)
        })?;
        let strict = r.bool()?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(DescribeClientQuotasRequest { components, strict, tagged_fields })
    }
}

/// The entity list shared by DescribeClientQuotas and AlterClientQuotas.
pub(crate) fn write_entity(w: &mut Writer, flexible: bool, entity: &[EntityData]) {
    w.array(flexible, entity, |w, e| {
        w.string(flexible, &e.entity_type);
        w.nullable_string(flexible, e.entity_name.as_deref());
        if flexible {
            w.empty_tagged_fields();
        }
    });
}

pub(crate) fn read_entity(r: &mut Reader, flexible: bool) -> Result<Vec<EntityData>> {
    r.array(flexible, |r| {
        let e = EntityData { entity_type: r.string(flexible)?, entity_name: r.nullable_string(flexible)? };
        r.tagged_fields_if(flexible)?;
        Ok(e)
    })
}

impl Message for DescribeClientQuotasResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(flexible, self.error_message.as_deref());
        w.nullable_array(flexible, self.entries.as_deref(), |w, e| {
            write_entity(w, flexible, &e.entity);
            w.array(flexible, &e.values, |w, v| {
                w.string(flexible, &v.key);
                w.f64(v.value);
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
        let mut m = DescribeClientQuotasResponse {
            throttle_time_ms: r.i32()?,
            error_code: r.i16()?,
            error_message: r.nullable_string(flexible)?,
            ..Default::default()
        };
        m.entries = r.nullable_array(flexible, |r| {
            let entity = read_entity(r, flexible)?;
            let values = r.array(flexible, |r| {
                let v = ValueData { key: r.string(flexible)?, value: r.f64()? };
                r.tagged_fields_if(flexible)?;
                Ok(v)
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(EntryData { entity, values })
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
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

    fn response() -> DescribeClientQuotasResponse {
        DescribeClientQuotasResponse {
            throttle_time_ms: 3,
            error_code: 0,
            error_message: None,
            entries: Some(vec![EntryData {
                entity: vec![
                    EntityData { entity_type: "user".into(), entity_name: Some("alice".into()) },
                    EntityData { entity_type: "client-id".into(), entity_name: None },
                ],
                values: vec![ValueData { key: "producer_byte_rate".into(), value: 1048576.0 }],
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            let req = DescribeClientQuotasRequest {
                components: vec![
                    ComponentData { entity_type: "user".into(), match_type: MATCH_EXACT, match_: Some("alice".into()) },
                    ComponentData { entity_type: "client-id".into(), match_type: MATCH_DEFAULT, match_: None },
                ],
                strict: true,
                ..Default::default()
            };
            round_trip(&req, v);
            assert_prefixes_fail(&req, v);
            round_trip(&response(), v);
            assert_prefixes_fail(&response(), v);
            let err = DescribeClientQuotasResponse { error_code: 42, error_message: Some("bad".into()), entries: None, ..Default::default() };
            round_trip(&err, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DescribeClientQuotasRequest {
            components: vec![ComponentData { entity_type: "user".into(), match_type: MATCH_ANY, match_: None }],
            strict: false,
            ..Default::default()
        };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 0, 0, 1, 0, 4, b'u', b's', b'e', b'r', 2, 0xff, 0xff, 0]);
        assert_eq!(&round_trip(&req, 1)[..], &[2, 5, b'u', b's', b'e', b'r', 2, 0, 0, 0, 0]);
        let resp = DescribeClientQuotasResponse {
            entries: Some(vec![EntryData {
                entity: vec![EntityData { entity_type: "u".into(), entity_name: None }],
                values: vec![ValueData { key: "k".into(), value: 1.0 }],
            }]),
            ..Default::default()
        };
        let one = 1.0f64.to_be_bytes();
        let mut want = vec![0, 0, 0, 0, 0, 0, 0, 2, 2, 2, b'u', 0, 0, 2, 2, b'k'];
        want.extend_from_slice(&one);
        want.extend_from_slice(&[0, 0, 0]);
        assert_eq!(&round_trip(&resp, 1)[..], &want[..]);
    }
}
