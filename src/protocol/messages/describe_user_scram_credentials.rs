//! DescribeUserScramCredentials (key 50), version 0 (flexible): which SCRAM
//! mechanisms and iteration counts each user has (never the secrets). Maps to
//! `DescribeUserScramCredentialsRequest.json` / `...Response.json` (KIP-554).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::DescribeUserScramCredentials;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeUserScramCredentialsRequest {
    /// `None` (null) or empty: every user with credentials.
    pub users: Option<Vec<String>>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeUserScramCredentialsResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub results: Vec<DescribeUserScramCredentialsResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribeUserScramCredentialsResult {
    pub user: String,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    pub credential_infos: Vec<CredentialInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialInfo {
    /// 1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512 (Kafka's `ScramMechanism.type`).
    pub mechanism: i8,
    pub iterations: i32,
}

impl Message for DescribeUserScramCredentialsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.nullable_array(true, self.users.as_deref(), |w, u| {
            w.string(true, u);
            w.empty_tagged_fields();
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let users = r.nullable_array(true, |r| {
            let n = r.string(true)?;
            r.tagged_fields()?;
            Ok(n)
        })?;
        Ok(DescribeUserScramCredentialsRequest { users, tagged_fields: r.tagged_fields()? })
    }
}

impl Message for DescribeUserScramCredentialsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(true, self.error_message.as_deref());
        w.array(true, &self.results, |w, r| {
            w.string(true, &r.user);
            w.i16(r.error_code);
            w.nullable_string(true, r.error_message.as_deref());
            w.array(true, &r.credential_infos, |w, c| {
                w.i8(c.mechanism);
                w.i32(c.iterations);
                w.empty_tagged_fields();
            });
            w.empty_tagged_fields();
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let mut m = DescribeUserScramCredentialsResponse {
            throttle_time_ms: r.i32()?,
            error_code: r.i16()?,
            error_message: r.nullable_string(true)?,
            ..Default::default()
        };
        m.results = r.array(true, |r| {
            let mut res = DescribeUserScramCredentialsResult {
                user: r.string(true)?,
                error_code: r.i16()?,
                error_message: r.nullable_string(true)?,
                ..Default::default()
            };
            res.credential_infos = r.array(true, |r| {
                let c = CredentialInfo { mechanism: r.i8()?, iterations: r.i32()? };
                r.tagged_fields()?;
                Ok(c)
            })?;
            r.tagged_fields()?;
            Ok(res)
        })?;
        m.tagged_fields = r.tagged_fields()?;
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
        let all = DescribeUserScramCredentialsRequest::default();
        assert_eq!(&round_trip(&all, 0)[..], &[0, 0]);
        round_trip(&DescribeUserScramCredentialsRequest { users: Some(vec!["alice".into()]), ..Default::default() }, 0);
        let resp = DescribeUserScramCredentialsResponse {
            results: vec![DescribeUserScramCredentialsResult {
                user: "alice".into(),
                credential_infos: vec![CredentialInfo { mechanism: 1, iterations: 4096 }],
                ..Default::default()
            }],
            ..Default::default()
        };
        round_trip(&resp, 0);
        assert!(resp.to_bytes(1).is_err());
    }
}
