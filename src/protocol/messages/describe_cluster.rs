//! DescribeCluster (key 60), version 0 (flexible): the cluster id, the
//! controller, the brokers of the caller's listener and KIP-430's authorized
//! operations on the cluster. Maps to `DescribeClusterRequest.json` /
//! `DescribeClusterResponse.json`. Tagged fields are kept on the top-level structs only.

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeCluster;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeClusterRequest {
    pub include_cluster_authorized_operations: bool,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
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
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        Ok(DescribeClusterRequest { include_cluster_authorized_operations: r.bool()?, tagged_fields: r.tagged_fields_if(true)? })
    }
}

impl Message for DescribeClusterResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(true, self.error_message.as_deref());
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
        round_trip(&resp, 0);
        assert_prefixes_fail(&resp, 0);
        assert!(DescribeClusterRequest::from_bytes(Bytes::new(), 1).is_err());
    }
}
