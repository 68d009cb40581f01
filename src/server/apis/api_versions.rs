//! ApiVersions handler: lists exactly the APIs and versions this broker
//! serves (`SUPPORTED_APIS`). Maps to `KafkaApis.handleApiVersionsRequest`;
//! the same answer is given by the SASL authenticator before authentication
//! (`SaslServerAuthenticator.handleApiVersionsRequest`).

use crate::protocol::api_key::{supported_versions, ApiKey, SUPPORTED_APIS};
use crate::protocol::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

/// The ApiVersions answer: every API with a handler and its version range.
pub fn api_versions_response() -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: 0,
        api_keys: SUPPORTED_APIS
            .iter()
            .map(|(k, lo, hi)| ApiVersion { api_key: k.id(), min_version: *lo, max_version: *hi, ..Default::default() })
            .collect(),
        throttle_time_ms: 0,
        tagged_fields: Default::default(),
    }
}

/// The answer to an ApiVersions version we do not know (sent as v0): only
/// the ApiVersions range, with UNSUPPORTED_VERSION, so the client retries.
pub fn unsupported_version_response() -> ApiVersionsResponse {
    let (lo, hi) = supported_versions(ApiKey::ApiVersions).unwrap_or((0, 3));
    ApiVersionsResponse {
        error_code: crate::protocol::error::UNSUPPORTED_VERSION,
        api_keys: vec![ApiVersion { api_key: ApiKey::ApiVersions.id(), min_version: lo, max_version: hi, ..Default::default() }],
        ..Default::default()
    }
}

impl KafkaApis {
    pub(crate) async fn handle_api_versions(
        &self,
        _ctx: &RequestContext,
        _req: ApiVersionsRequest,
    ) -> ApiVersionsResponse {
        api_versions_response()
    }
}
