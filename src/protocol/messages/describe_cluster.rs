//! DescribeCluster (key 60), versions 0-1 (all flexible): the cluster id,
//! the controller, the brokers of the caller's listener and KIP-430's
//! authorized operations on the cluster. Maps to `DescribeClusterRequest.json`
//! / `DescribeClusterResponse.json` (v0 as in Kafka 2.8; v1, KIP-919, adds
//! `EndpointType` to both, 1 = brokers). Tagged fields are kept on the
//! top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeCluster;
const MIN: i16 = 0;
const MAX: i16 = 1;

/// `EndpointType` of v1+: what the request wants described.
pub const ENDPOINT_TYPE_BROKER: i8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterRequest {
    pub include_cluster_authorized_operations: bool,
    /// v1+ (default 1, brokers).
    pub endpoint_type: i8,
    pub tagged_fields: TaggedFields,
}

impl Default for DescribeClusterRequest {
    fn default() -> Self {
        DescribeClusterRequest {
            include_cluster_authorized_operations: false,
            endpoint_type: ENDPOINT_TYPE_BROKER,
            tagged_fields: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    /// v1+ (default 1, brokers).
    pub endpoint_type: i8,
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<DescribeClusterBroker>,
    pub cluster_authorized_operations: i32,
    pub tagged_fields: TaggedFields,
}

impl Default for DescribeClusterResponse {
    fn default() -> Self {
        DescribeClusterResponse {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: None,
            endpoint_type: ENDPOINT_TYPE_BROKER,
            cluster_id: String::new(),
            controller_id: -1,
            brokers: Vec::new(),
            cluster_authorized_operations: i32::MIN,
            tagged_fields: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeClusterBroker {
    pub broker_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl Message for DescribeClusterRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.bool(self.include_cluster_authorized_operations);
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let include_cluster_authorized_operations = r.bool()?;
        let endpoint_type = if version >= 1 { r.i8()? } else { ENDPOINT_TYPE_BROKER };
        Ok(DescribeClusterRequest { include_cluster_authorized_operations, endpoint_type, tagged_fields: r.tagged_fields_if(true)? })
    }
}

impl Message for DescribeClusterResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(true, self.error_message.as_deref());
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.string(true, &self.cluster_id);
        w.i32(self.controller_id);
        w.array(true, &self.brokers, |w, b| {
            w.i32(b.broker_id);
            w.string(true, &b.host);
            w.i32(b.port);
            w.nullable_string(true, b.rack.as_deref());
            w.empty_tagged_fields();
        });
        w.i32(self.cluster_authorized_operations);
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let throttle_time_ms = r.i32()?;
        let error_code = r.i16()?;
        let error_message = r.nullable_string(true)?;
        let endpoint_type = if version >= 1 { r.i8()? } else { ENDPOINT_TYPE_BROKER };
        let cluster_id = r.string(true)?;
        let controller_id = r.i32()?;
        let brokers = r.array(true, |r| {
            let b = DescribeClusterBroker { broker_id: r.i32()?, host: r.string(true)?, port: r.i32()?, rack: r.nullable_string(true)? };
            r.tagged_fields_if(true)?;
            Ok(b)
        })?;
        Ok(DescribeClusterResponse {
            throttle_time_ms,
            error_code,
            error_message,
            endpoint_type,
            cluster_id,
            controller_id,
            brokers,
            cluster_authorized_operations: r.i32()?,
            tagged_fields: r.tagged_fields_if(true)?,
        })
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

    #[test]
    fn round_trip_every_version() {
        let req = DescribeClusterRequest { include_cluster_authorized_operations: true, ..Default::default() };
        assert_eq!(&round_trip(&req, 0)[..], &[1, 0]);
        assert_eq!(&round_trip(&req, 1)[..], &[1, 1, 0]);
        let controllers = DescribeClusterRequest { endpoint_type: 2, ..req.clone() };
        assert_eq!(&round_trip(&controllers, 1)[..], &[1, 2, 0]);
        let resp = DescribeClusterResponse {
            cluster_id: "c".into(),
            controller_id: 1,
            brokers: vec![
                DescribeClusterBroker { broker_id: 1, host: "h".into(), port: 9092, rack: None },
                DescribeClusterBroker { broker_id: 2, host: "h".into(), port: 9093, rack: Some("r".into()) },
            ],
            cluster_authorized_operations: 0b1_1110_1010_0000,
            ..Default::default()
        };
        let v0 = round_trip(&resp, 0);
        assert_prefixes_fail(&resp, 0);
        let v1 = round_trip(&resp, 1);
        assert_prefixes_fail(&resp, 1);
        // v0 as Kafka 2.8 lays it out: throttle, error, null message (0),
        // cluster id "c" (compact: len+1), controller 1, 2 brokers (3) ...
        assert_eq!(&v0[..14], &[0, 0, 0, 0, 0, 0, 0, 2, b'c', 0, 0, 0, 1, 3]);
        // ... then broker 1: id, host "h", port 9092, null rack, no tags.
        assert_eq!(&v0[14..25], &[0, 0, 0, 1, 2, b'h', 0, 0, 0x23, 0x84, 0]);
        assert_eq!(v0[25], 0);
        // v1 adds the endpoint type (1) after the error message.
        assert_eq!(v1.len(), v0.len() + 1);
        assert_eq!(v1[7], 1);
        // the authorized operations and the response's empty tagged fields end both
        assert_eq!(&v0[v0.len() - 5..], &[0, 0, 0x1e, 0xa0, 0]);
        assert!(DescribeClusterRequest::from_bytes(Bytes::new(), 2).is_err());
        assert!(DescribeClusterRequest::from_bytes(Bytes::from_static(&[1, 0]), 1).is_err());
    }
}
