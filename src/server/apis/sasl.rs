//! SaslHandshake (17) and SaslAuthenticate (36) after authentication: the
//! exchange belongs to `SaslServerAuthenticator` before any other request,
//! so once requests reach `KafkaApis` both are answered ILLEGAL_SASL_STATE,
//! as `KafkaApis.handleSaslHandshakeRequest` /
//! `handleSaslAuthenticateRequest` do (re-authentication, KIP-368, is not
//! implemented).

use crate::protocol::error;
use crate::protocol::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use crate::protocol::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use crate::server::kafka_apis::{KafkaApis, RequestContext};

impl KafkaApis {
    pub(crate) async fn handle_sasl_handshake(&self, _ctx: &RequestContext, _req: SaslHandshakeRequest) -> SaslHandshakeResponse {
        SaslHandshakeResponse { error_code: error::ILLEGAL_SASL_STATE, mechanisms: Vec::new() }
    }

    pub(crate) async fn handle_sasl_authenticate(&self, _ctx: &RequestContext, _req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
        SaslAuthenticateResponse {
            error_code: error::ILLEGAL_SASL_STATE,
            error_message: Some("SaslAuthenticate request received after successful authentication".into()),
            ..Default::default()
        }
    }
}
