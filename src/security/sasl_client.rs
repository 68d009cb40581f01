//! The client side of SASL (SaslHandshake v1, then SaslAuthenticate v1) for
//! PLAIN and SCRAM-SHA-256/512, used by broker-to-broker connections and
//! tools. Maps to Kafka's `SaslClientAuthenticator` with `PlainSaslClient` /
//! `ScramSaslClient`.

use crate::protocol::messages::sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use crate::protocol::messages::sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse};
use crate::protocol::{encode_request_frame, error, Message, Reader, ResponseHeader};
use crate::security::scram::{ScramClient, ScramMechanism};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CLIENT_ID: &str = "zkafka-sasl";
/// Responses during authentication are small; anything larger is refused.
const MAX_RESPONSE: usize = 1 << 20;

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin, Req: Message, Resp: Message>(
    stream: &mut S,
    correlation_id: i32,
    version: i16,
    req: &Req,
) -> Result<Resp, String> {
    let frame = encode_request_frame(correlation_id, version, Some(CLIENT_ID), req).map_err(|e| e.to_string())?;
    stream.write_all(&frame).await.map_err(|e| format!("SASL: cannot send {:?}: {e}", Req::API_KEY))?;
    stream.flush().await.map_err(|e| format!("SASL: cannot send {:?}: {e}", Req::API_KEY))?;
    let size = stream
        .read_i32()
        .await
        .map_err(|e| format!("SASL: connection closed waiting for the {:?} response: {e}", Req::API_KEY))?;
    if size < 0 || size as usize > MAX_RESPONSE {
        return Err(format!("SASL: response size {size} out of range"));
    }
    let mut buf = vec![0u8; size as usize];
    stream.read_exact(&mut buf).await.map_err(|e| format!("SASL: truncated response: {e}"))?;
    let mut r = Reader::new(Bytes::from(buf));
    let header = ResponseHeader::decode(&mut r, Req::API_KEY.response_header_version(version)).map_err(|e| e.to_string())?;
    if header.correlation_id != correlation_id {
        return Err(format!("SASL: correlation id {} does not match {correlation_id}", header.correlation_id));
    }
    Resp::decode(&mut r, version).map_err(|e| format!("SASL: cannot parse the {:?} response: {e}", Req::API_KEY))
}

async fn authenticate_step<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, id: i32, token: Vec<u8>) -> Result<Bytes, String> {
    let resp: SaslAuthenticateResponse =
        round_trip(stream, id, 1, &SaslAuthenticateRequest { auth_bytes: Bytes::from(token), ..Default::default() }).await?;
    if resp.error_code != error::NONE {
        return Err(format!(
            "{}: {}",
            error::error_name(resp.error_code),
            resp.error_message.unwrap_or_default()
        ));
    }
    Ok(resp.auth_bytes)
}

/// Authenticates this end of `stream` with `mechanism` (PLAIN,
/// SCRAM-SHA-256 or SCRAM-SHA-512). The stream is then ready for requests.
pub async fn sasl_client_authenticate<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: &mut S,
    mechanism: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let scram = ScramMechanism::from_name(mechanism);
    if scram.is_none() && mechanism != "PLAIN" {
        return Err(format!("SASL mechanism {mechanism} is not supported by this client"));
    }
    let hs: SaslHandshakeResponse = round_trip(stream, 1, 1, &SaslHandshakeRequest { mechanism: mechanism.to_string() }).await?;
    if hs.error_code != error::NONE {
        return Err(format!(
            "{}: the server does not accept {mechanism} (enabled: {})",
            error::error_name(hs.error_code),
            hs.mechanisms.join(",")
        ));
    }
    match scram {
        None => {
            let mut token = Vec::new();
            token.push(0);
            token.extend_from_slice(username.as_bytes());
            token.push(0);
            token.extend_from_slice(password.as_bytes());
            authenticate_step(stream, 2, token).await?;
        }
        Some(m) => {
            let mut client = ScramClient::new(m, username, password);
            let server_first = authenticate_step(stream, 2, client.client_first()).await?;
            let client_final = client.client_final(&server_first)?;
            let server_final = authenticate_step(stream, 3, client_final).await?;
            client.verify_server_final(&server_final)?;
        }
    }
    Ok(())
}
