//! ApiVersions handler: lists exactly the APIs and versions this broker
//! serves (`SUPPORTED_APIS`). Maps to `KafkaApis.handleApiVersionsRequest`.

use crate::protocol::api_key::SUPPORTED_APIS;
use crate::protocol::messages::api_versions::{ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_api_versions(
        &self,
        _ctx: &RequestContext,
        _req: ApiVersionsRequest,
    ) -> ApiVersionsResponse {
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
}
