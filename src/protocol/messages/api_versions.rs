//! ApiVersions (key 18), versions 0-3: the client asks which APIs and versions
//! the broker speaks. Maps to `ApiVersionsRequest.json` / `ApiVersionsResponse.json`.
//! The response header is always v0, even for the flexible v3 body (KIP-511).

use crate::protocol::{check_version, ApiKey, ErrorCode, Message, Reader, Result, TaggedFields, Writer};

const KEY: ApiKey = ApiKey::ApiVersions;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiVersionsRequest {
    /// v3+
    pub client_software_name: String,
    /// v3+
    pub client_software_version: String,
    pub tagged_fields: TaggedFields,
}

impl Message for ApiVersionsRequest {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        if version >= 3 {
            w.string(true, &self.client_software_name);
            w.string(true, &self.client_software_version);
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let mut m = ApiVersionsRequest::default();
        if version >= 3 {
            m.client_software_name = r.string(true)?;
            m.client_software_version = r.string(true)?;
            m.tagged_fields = r.tagged_fields()?;
        }
        Ok(m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiVersion {
    pub api_key: i16,
    pub min_version: i16,
    pub max_version: i16,
    pub tagged_fields: TaggedFields,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiVersionsResponse {
    pub error_code: ErrorCode,
    pub api_keys: Vec<ApiVersion>,
    /// v1+
    pub throttle_time_ms: i32,
    /// v3+: SupportedFeatures (0), FinalizedFeaturesEpoch (1), FinalizedFeatures (2)
    /// are tagged fields; we carry them raw and write none by default, since
    /// librdkafka before 2.2 fails on default-valued tagged fields here.
    pub tagged_fields: TaggedFields,
}

impl Message for ApiVersionsResponse {
    const API_KEY: ApiKey = KEY;

    fn encode(&self, w: &mut Writer, version: i16) -> Result<()> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        w.i16(self.error_code);
        w.array(flexible, &self.api_keys, |w, k| {
            w.i16(k.api_key);
            w.i16(k.min_version);
            w.i16(k.max_version);
            if flexible {
                w.tagged_fields(&k.tagged_fields);
            }
        });
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if flexible {
            w.tagged_fields(&self.tagged_fields);
        }
        Ok(())
    }

    fn decode(r: &mut Reader, version: i16) -> Result<Self> {
        check_version(KEY, version, 0, 3)?;
        let flexible = KEY.is_flexible(version);
        let error_code = r.i16()?;
        let api_keys = r.array(flexible, |r| {
            Ok(ApiVersion {
                api_key: r.i16()?,
                min_version: r.i16()?,
                max_version: r.i16()?,
                tagged_fields: if flexible { r.tagged_fields()? } else { TaggedFields::default() },
            })
        })?;
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        let tagged_fields = if flexible { r.tagged_fields()? } else { TaggedFields::default() };
        Ok(ApiVersionsResponse { error_code, api_keys, throttle_time_ms, tagged_fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_version() {
        for v in 0..=3 {
            let req = ApiVersionsRequest {
                client_software_name: if v >= 3 { "librdkafka".into() } else { String::new() },
                client_software_version: if v >= 3 { "2.3.0".into() } else { String::new() },
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(ApiVersionsRequest::from_bytes(req.to_bytes(v).unwrap(), v).unwrap(), req);
            let resp = ApiVersionsResponse {
                error_code: 0,
                api_keys: vec![ApiVersion { api_key: 18, min_version: 0, max_version: 3, ..Default::default() }],
                throttle_time_ms: if v >= 1 { 5 } else { 0 },
                tagged_fields: TaggedFields::default(),
            };
            assert_eq!(ApiVersionsResponse::from_bytes(resp.to_bytes(v).unwrap(), v).unwrap(), resp);
        }
    }

    #[test]
    fn v3_response_bytes_have_no_tagged_fields() {
        let resp = ApiVersionsResponse {
            error_code: 0,
            api_keys: vec![ApiVersion { api_key: 18, min_version: 0, max_version: 3, ..Default::default() }],
            throttle_time_ms: 0,
            tagged_fields: TaggedFields::default(),
        };
        let b = resp.to_bytes(3).unwrap();
        // error(2) + compact len(1) + entry(6 + 1 tag byte) + throttle(4) + tags(1)
        assert_eq!(&b[..], &[0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
    }
}
