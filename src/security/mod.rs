//! Security: who is on the other end of a connection. Maps to Kafka's
//! `KafkaPrincipal` (org.apache.kafka.common.security.auth) and the
//! `RequestChannel.Session` every request carries into `KafkaApis`.
//!
//! A connection starts as `User:ANONYMOUS` on a PLAINTEXT listener; a TLS
//! client certificate or a SASL exchange replaces the principal before any
//! other request is served.

pub mod credential_cache;
pub mod plain;
pub mod sasl_client;
pub mod sasl_server_authenticator;
pub mod scram;

pub use sasl_client::sasl_client_authenticate;
pub use sasl_server_authenticator::{authenticate, reauthenticate, SaslListenerConfig, SaslServerContext};
pub mod ssl;
pub mod authorizer;

use std::fmt;
use std::net::SocketAddr;

/// Kafka's `KafkaPrincipal`: a type (always `User` for authenticated
/// connections) and a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KafkaPrincipal {
    pub principal_type: String,
    pub name: String,
}

impl KafkaPrincipal {
    pub const USER_TYPE: &'static str = "User";

    pub fn user(name: &str) -> KafkaPrincipal {
        KafkaPrincipal { principal_type: Self::USER_TYPE.to_string(), name: name.to_string() }
    }

    /// `User:ANONYMOUS`, the principal of an unauthenticated connection.
    pub fn anonymous() -> KafkaPrincipal {
        Self::user("ANONYMOUS")
    }

    /// Parses `Type:name` as Kafka's `SecurityUtils.parseKafkaPrincipal`
    /// does: the type is everything before the first colon.
    pub fn parse(s: &str) -> Option<KafkaPrincipal> {
        let (t, n) = s.split_once(':')?;
        if t.is_empty() {
            return None;
        }
        Some(KafkaPrincipal { principal_type: t.to_string(), name: n.to_string() })
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

/// What Kafka's `RequestChannel.Session` and `RequestContext` know about a
/// connection: the authenticated principal, the client's address and the
/// listener it came in on.
#[derive(Clone, Debug)]
pub struct Session {
    pub principal: KafkaPrincipal,
    pub peer: SocketAddr,
    /// The listener's name (`PLAINTEXT`, `SASL_SSL`, `INTERNAL`, ...).
    pub listener_name: String,
}

impl Session {
    pub fn anonymous(peer: SocketAddr, listener_name: &str) -> Session {
        Session { principal: KafkaPrincipal::anonymous(), peer, listener_name: listener_name.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_principals() {
        let p = KafkaPrincipal::parse("User:CN=alice,O=x").unwrap();
        assert_eq!(p.principal_type, "User");
        assert_eq!(p.name, "CN=alice,O=x");
        assert_eq!(p.to_string(), "User:CN=alice,O=x");
        assert_eq!(KafkaPrincipal::parse("alice"), None);
        assert_eq!(KafkaPrincipal::parse(":alice"), None);
        assert_eq!(KafkaPrincipal::anonymous().to_string(), "User:ANONYMOUS");
    }
}
