//! DeleteTopics (key 20), versions 0-6 (flexible from v4): deletes topics by
//! name (v0-5) or by name or topic ID (v6). Maps to `DeleteTopicsRequest.json` /
//! `DeleteTopicsResponse.json`: v1 adds the throttle time, v5 the per-topic
//! error message, v6 replaces `TopicNames` by `Topics` (name or ID) and makes
//! the names nullable.

use crate::protocol::{check_version, ApiKey, CodecError, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DeleteTopics;
const MIN: i16 = 0;
const MAX: i16 = 6;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteTopicsRequest {
    /// v6+: the topics by name or ID. Must be empty below v6.
    pub topics: Vec<DeleteTopicState>,
    /// v0-5: the topic names (ignorable: not written in v6+).
    pub topic_names: Vec<String>,
    pub timeout_ms: i32,
    pub tagged_fields: TaggedFields,
}

/// v6+: one topic, named or identified by its ID (the other left null/zero).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteTopicState {
    /// nullable
    pub name: Option<String>,
    pub topic_id: [u8; 16],
    pub tagged_fields: TaggedFields,
}

impl DeleteTopicsRequest {
    /// The named topics of the request whatever its version (v0-5
    /// `topic_names`, v6 `topics` that carry a name).
    pub fn names(&self) -> Vec<String> {
        let mut v = self.topic_names.clone();
        v.extend(self.topics.iter().filter_map(|t| t.name.clone()));
        v
    }
}

impl Message for DeleteTopicsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version >= 6 {
            w.array(flexible, &self.topics, |w, t| {
                w.nullable_string(flexible, t.name.as_deref());
                w.uuid(&t.topic_id);
                w.tagged_fields(&t.tagged_fields);
            });
        } else {
            if !self.topics.is_empty() {
                return Err(CodecError::Invalid(format!("DeleteTopics v{version} cannot carry topic IDs (Topics is v6+)")));
            }
            w.array(flexible, &self.topic_names, |w, n| w.string(flexible, n));
        }
        w.i32(self.timeout_ms);
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        let mut m = DeleteTopicsRequest::default();
        if version >= 6 {
            m.topics = r.array(flexible, |r| {
                Ok(DeleteTopicState {
                    name: r.nullable_string(flexible)?,
                    topic_id: r.uuid()?,
                    tagged_fields: r.tagged_fields()?,
                })
            })?;
        } else {
            m.topic_names = r.array(flexible, |r| r.string(flexible))?;
        }
        m.timeout_ms = r.i32()?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteTopicsResponse {
    /// v1+
    pub throttle_time_ms: i32,
    pub responses: Vec<DeletableTopicResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletableTopicResult {
    /// Nullable in v6+ only (a topic asked for by ID that was not found).
    pub name: Option<String>,
    /// v6+ (ignorable)
    pub topic_id: [u8; 16],
    pub error_code: ErrorCode,
    /// v5+ (ignorable); null when there was no error
    pub error_message: Option<String>,
    pub tagged_fields: TaggedFields,
}

impl Message for DeleteTopicsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        if version < 6 && self.responses.iter().any(|t| t.name.is_none()) {
            return Err(CodecError::UnexpectedNull("DeletableTopicResult.name below v6"));
        }
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array(flexible, &self.responses, |w, t| {
            w.nullable_string(flexible, t.name.as_deref());
            if version >= 6 {
                w.uuid(&t.topic_id);
            }
            w.i16(t.error_code);
            if version >= 5 {
                w.nullable_string(flexible, t.error_message.as_deref());
            }
            if flexible {
                w.tagged_fields(&t.tagged_fields);
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
        let mut m = DeleteTopicsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.responses = r.array(flexible, |r| {
            let name = if version >= 6 { r.nullable_string(flexible)? } else { Some(r.string(flexible)?) };
            let mut t = DeletableTopicResult { name, ..Default::default() };
            if version >= 6 {
                t.topic_id = r.uuid()?;
            }
            t.error_code = r.i16()?;
            if version >= 5 {
                t.error_message = r.nullable_string(flexible)?;
            }
            t.tagged_fields = r.tagged_fields_if(flexible)?;
            Ok(t)
        })?;
        m.tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error;
    use bytes::Bytes;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    fn sample_request(v: i16) -> DeleteTopicsRequest {
        let mut m = DeleteTopicsRequest { timeout_ms: 30_000, ..Default::default() };
        if v >= 6 {
            m.topics = vec![
                DeleteTopicState { name: Some("a".into()), ..Default::default() },
                DeleteTopicState { name: None, topic_id: [7; 16], ..Default::default() },
            ];
        } else {
            m.topic_names = vec!["a".into(), "b".into()];
        }
        if v >= 4 {
            m.tagged_fields = TaggedFields(vec![(3, Bytes::from_static(b"x"))]);
        }
        m
    }

    fn sample_response(v: i16) -> DeleteTopicsResponse {
        let mut ok = DeletableTopicResult { name: Some("a".into()), ..Default::default() };
        let mut bad = DeletableTopicResult {
            name: Some("b".into()),
            error_code: error::TOPIC_DELETION_DISABLED,
            ..Default::default()
        };
        let mut m = DeleteTopicsResponse::default();
        if v >= 1 {
            m.throttle_time_ms = 5;
        }
        if v >= 5 {
            bad.error_message = Some("Topic deletion is disabled.".into());
        }
        if v >= 6 {
            ok.topic_id = [1; 16];
            bad.name = None;
            bad.topic_id = [2; 16];
        }
        m.responses = vec![ok, bad];
        m
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&sample_request(v), v);
            round_trip(&sample_response(v), v);
            round_trip(&DeleteTopicsRequest::default(), v);
            round_trip(&DeleteTopicsResponse::default(), v);
        }
        assert!(DeleteTopicsRequest::default().to_bytes(7).is_err());
        assert!(DeleteTopicsResponse::from_bytes(Bytes::new(), -1).is_err());
    }

    #[test]
    fn every_prefix_fails() {
        for v in MIN..=MAX {
            super::super::test_util::assert_prefixes_fail(&sample_request(v), v);
            super::super::test_util::assert_prefixes_fail(&sample_response(v), v);
        }
    }

    #[test]
    fn fields_outside_their_versions() {
        // Topic IDs cannot be sent below v6; a null name cannot be answered below v6.
        assert!(sample_request(6).to_bytes(5).is_err());
        assert!(sample_response(6).to_bytes(5).is_err());
        // TopicNames is ignorable: dropped in v6.
        let m = DeleteTopicsRequest { topic_names: vec!["a".into()], ..Default::default() };
        assert_eq!(DeleteTopicsRequest::from_bytes(m.to_bytes(6).unwrap(), 6).unwrap().topic_names, Vec::<String>::new());
        assert_eq!(sample_request(6).names(), vec!["a".to_string()]);
        assert_eq!(sample_request(0).names(), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn hand_checked_bytes() {
        let req = DeleteTopicsRequest { topic_names: vec!["t".into()], timeout_ms: 1, ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1]);
        assert_eq!(&round_trip(&req, 4)[..], &[2, 2, b't', 0, 0, 0, 1, 0]);
        let resp = DeleteTopicsResponse {
            responses: vec![DeletableTopicResult { name: Some("t".into()), error_code: 3, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 1, 0, 1, b't', 0, 3]);
        // v5: throttle, compact array, name, error, null message, tags, tags
        assert_eq!(&round_trip(&resp, 5)[..], &[0, 0, 0, 0, 2, 2, b't', 0, 3, 0, 0, 0]);
    }
}
