//! WriteTxnMarkers (key 27), versions 0-1 (flexible from v1): the transaction
//! coordinator asks partition leaders to append COMMIT/ABORT control batches.
//! Maps to `WriteTxnMarkersRequest.json` / `WriteTxnMarkersResponse.json`.
//! Inter-broker only (Kafka's `ClusterAction`); the response has no throttle time.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::WriteTxnMarkers;
const MIN: i16 = 0;
const MAX: i16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteTxnMarkersRequest {
    pub markers: Vec<WritableTxnMarker>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WritableTxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// false = ABORT, true = COMMIT.
    pub transaction_result: bool,
    pub topics: Vec<WritableTxnMarkerTopic>,
    pub coordinator_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WritableTxnMarkerTopic {
    pub name: String,
    pub partition_indexes: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteTxnMarkersResponse {
    pub markers: Vec<WritableTxnMarkerResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WritableTxnMarkerResult {
    pub producer_id: i64,
    pub topics: Vec<WritableTxnMarkerTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WritableTxnMarkerTopicResult {
    pub name: String,
    pub partitions: Vec<WritableTxnMarkerPartitionResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WritableTxnMarkerPartitionResult {
    pub partition_index: i32,
    pub error_code: ErrorCode,
}

impl Message for WriteTxnMarkersRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.markers, |w, m| {
            w.i64(m.producer_id);
            w.i16(m.producer_epoch);
            w.bool(m.transaction_result);
            w.array(flexible, &m.topics, |w, t| {
                w.string(flexible, &t.name);
                w.i32_array(flexible, &t.partition_indexes);
                if flexible {
                    w.empty_tagged_fields();
                }
            });
            w.i32(m.coordinator_epoch);
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
        let markers = r.array(flexible, |r| {
            let producer_id = r.i64()?;
            let producer_epoch = r.i16()?;
            let transaction_result = r.bool()?;
            let topics = r.array(flexible, |r| {
                let t = WritableTxnMarkerTopic { name: r.string(flexible)?, partition_indexes: r.i32_array(flexible)? };
                r.tagged_fields_if(flexible)?;
                Ok(t)
            })?;
            let coordinator_epoch = r.i32()?;
            r.tagged_fields_if(flexible)?;
            Ok(WritableTxnMarker { producer_id, producer_epoch, transaction_result, topics, coordinator_epoch })
        })?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(WriteTxnMarkersRequest { markers, tagged_fields })
    }
}

impl Message for WriteTxnMarkersResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        let flexible = KEY.is_flexible(version);
        w.array(flexible, &self.markers, |w, m| {
            w.i64(m.producer_id);
            w.array(flexible, &m.topics, |w, t| {
                w.string(flexible, &t.name);
                w.array(flexible, &t.partitions, |w, p| {
                    w.i32(p.partition_index);
                    w.i16(p.error_code);
                    if flexible {
                        w.empty_tagged_fields();
                    }
                });
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
        let markers = r.array(flexible, |r| {
            let producer_id = r.i64()?;
            let topics = r.array(flexible, |r| {
                let name = r.string(flexible)?;
                let partitions = r.array(flexible, |r| {
                    let p = WritableTxnMarkerPartitionResult { partition_index: r.i32()?, error_code: r.i16()? };
                    r.tagged_fields_if(flexible)?;
                    Ok(p)
                })?;
                r.tagged_fields_if(flexible)?;
                Ok(WritableTxnMarkerTopicResult { name, partitions })
            })?;
            r.tagged_fields_if(flexible)?;
            Ok(WritableTxnMarkerResult { producer_id, topics })
        })?;
        let tagged_fields = r.tagged_fields_if(flexible)?;
        Ok(WriteTxnMarkersResponse { markers, tagged_fields })
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

    fn request() -> WriteTxnMarkersRequest {
        WriteTxnMarkersRequest {
            markers: vec![
                WritableTxnMarker {
                    producer_id: 7,
                    producer_epoch: 2,
                    transaction_result: true,
                    topics: vec![
                        WritableTxnMarkerTopic { name: "t".into(), partition_indexes: vec![0, 2] },
                        WritableTxnMarkerTopic { name: "__consumer_offsets".into(), partition_indexes: vec![13] },
                    ],
                    coordinator_epoch: 5,
                },
                WritableTxnMarker { producer_id: 8, producer_epoch: 0, transaction_result: false, topics: vec![], coordinator_epoch: 0 },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_every_version() {
        for v in MIN..=MAX {
            round_trip(&request(), v);
            let resp = WriteTxnMarkersResponse {
                markers: vec![WritableTxnMarkerResult {
                    producer_id: 7,
                    topics: vec![WritableTxnMarkerTopicResult {
                        name: "t".into(),
                        partitions: vec![
                            WritableTxnMarkerPartitionResult { partition_index: 0, error_code: 0 },
                            WritableTxnMarkerPartitionResult { partition_index: 2, error_code: 6 },
                        ],
                    }],
                }],
                ..Default::default()
            };
            round_trip(&resp, v);
        }
    }

    #[test]
    fn hand_checked_bytes() {
        let req = WriteTxnMarkersRequest {
            markers: vec![WritableTxnMarker {
                producer_id: 1,
                producer_epoch: 2,
                transaction_result: true,
                topics: vec![WritableTxnMarkerTopic { name: "a".into(), partition_indexes: vec![3] }],
                coordinator_epoch: 4,
            }],
            ..Default::default()
        };
        assert_eq!(
            &round_trip(&req, 0)[..],
            &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 4]
        );
        assert_eq!(&round_trip(&req, 1)[..], &[2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 2, 2, b'a', 2, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0]);
        let resp = WriteTxnMarkersResponse {
            markers: vec![WritableTxnMarkerResult {
                producer_id: 1,
                topics: vec![WritableTxnMarkerTopicResult {
                    name: "a".into(),
                    partitions: vec![WritableTxnMarkerPartitionResult { partition_index: 3, error_code: 6 }],
                }],
            }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 1)[..], &[2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, b'a', 2, 0, 0, 0, 3, 0, 6, 0, 0, 0, 0]);
    }

    #[test]
    fn truncated_request_is_an_error() {
        let b = request().to_bytes(1).unwrap();
        for n in 0..b.len() {
            assert!(WriteTxnMarkersRequest::from_bytes(b.slice(..n), 1).is_err(), "prefix {n}");
        }
    }
}
