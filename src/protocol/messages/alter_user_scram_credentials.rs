//! AlterUserScramCredentials (key 51), version 0 (flexible): upserts and
//! deletes SCRAM credentials; the client sends the salt and the salted
//! password, the broker derives the stored and server keys. Maps to
//! `AlterUserScramCredentialsRequest.json` / `...Response.json` (KIP-554).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};
use bytes::Bytes;

const KEY: ApiKey = ApiKey::AlterUserScramCredentials;
const MIN: i16 = 0;
const MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterUserScramCredentialsRequest {
    pub deletions: Vec<ScramCredentialDeletion>,
    pub upsertions: Vec<ScramCredentialUpsertion>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScramCredentialDeletion {
    pub name: String,
    pub mechanism: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScramCredentialUpsertion {
    pub name: String,
    pub mechanism: i8,
    pub iterations: i32,
    pub salt: Bytes,
    pub salted_password: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterUserScramCredentialsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<AlterUserScramCredentialsResult>,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlterUserScramCredentialsResult {
    pub user: String,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
}

impl Message for AlterUserScramCredentialsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.array(true, &self.deletions, |w, d| {
            w.string(true, &d.name);
            w.i8(d.mechanism);
            w.empty_tagged_fields();
        });
        w.array(true, &self.upsertions, |w, u| {
            w.string(true, &u.name);
            w.i8(u.mechanism);
            w.i32(u.iterations);
            w.bytes(true, &u.salt);
            w.bytes(true, &u.salted_password);
            w.empty_tagged_fields();
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let deletions = r.array(true, |r| {
            let d = ScramCredentialDeletion { name: r.string(true)?, mechanism: r.i8()? };
            r.tagged_fields()?;
            Ok(d)
        })?;
        let upsertions = r.array(true, |r| {
            let u = ScramCredentialUpsertion {
                name: r.string(true)?,
                mechanism: r.i8()?,
                iterations: r.i32()?,
                salt: r.bytes(true)?,
                salted_password: r.bytes(true)?,
            };
            r.tagged_fields()?;
            Ok(u)
        })?;
        Ok(AlterUserScramCredentialsRequest { deletions, upsertions, tagged_fields: r.tagged_fields()? })
    }
}

impl Message for AlterUserScramCredentialsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, MIN, MAX)?;
        w.i32(self.throttle_time_ms);
        w.array(true, &self.results, |w, r| {
            w.string(true, &r.user);
            w.i16(r.error_code);
            w.nullable_string(true, r.error_message.as_deref());
            w.empty_tagged_fields();
        });
        w.tagged_fields(&self.tagged_fields);
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, MIN, MAX)?;
        let throttle_time_ms = r.i32()?;
        let results = r.array(true, |r| {
            let res = AlterUserScramCredentialsResult { user: r.string(true)?, error_code: r.i16()?, error_message: r.nullable_string(true)? };
            r.tagged_fields()?;
            Ok(res)
        })?;
        Ok(AlterUserScramCredentialsResponse { throttle_time_ms, results, tagged_fields: r.tagged_fields()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M, v: i16) -> Bytes {
        let b = m.to_bytes(v).unwrap();
        assert_eq!(&M::from_bytes(b.clone(), v).unwrap(), m, "v{v}");
        b
    }

    #[test]
    fn round_trip_every_version() {
        let req = AlterUserScramCredentialsRequest {
            deletions: vec![ScramCredentialDeletion { name: "bob".into(), mechanism: 2 }],
            upsertions: vec![ScramCredentialUpsertion {
                name: "alice".into(),
                mechanism: 1,
                iterations: 8192,
                salt: Bytes::from_static(b"salt"),
                salted_password: Bytes::from_static(&[1; 32]),
            }],
            ..Default::default()
        };
        round_trip(&req, 0);
        let resp = AlterUserScramCredentialsResponse {
            results: vec![AlterUserScramCredentialsResult { user: "alice".into(), error_code: 0, error_message: None }],
            ..Default::default()
        };
        assert_eq!(&round_trip(&resp, 0)[..], &[0, 0, 0, 0, 2, 6, b'a', b'l', b'i', b'c', b'e', 0, 0, 0, 0, 0]);
    }
}
