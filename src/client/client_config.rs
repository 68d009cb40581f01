//! The security part of a Kafka client configuration (the properties of a
//! tool's `--command-config`, `--producer.config`, `--consumer.config`,
//! `--admin.config` and `--*-property` options), turned into the
//! `ChannelSecurity` every tool connection uses. Maps to Kafka's
//! `CommonClientConfigs` / `SaslConfigs` / `SslConfigs` keys and
//! `ClientUtils.createChannelBuilder` (security.protocol -> channel builder,
//! `JaasContext.loadClientContext` for `sasl.jaas.config`).
//!
//! Keys read: `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT,
//! SASL_SSL), the `ssl.*` keystore/truststore keys as the broker reads them
//! (`crate::security::ssl::SslSettings`: PEM and PKCS12, inline PEM,
//! `ssl.endpoint.identification.algorithm`), `sasl.mechanism` (PLAIN,
//! SCRAM-SHA-256, SCRAM-SHA-512) and `sasl.jaas.config` (PlainLoginModule or
//! ScramLoginModule with `username` and `password`). Other keys (acks,
//! client.id, timeouts, ...) are left to the tool.

use super::{ChannelSecurity, SaslCredentials};
use crate::security::plain::JaasConfig;
use crate::zk::SecurityProtocol;
use std::collections::BTreeMap;

/// Client properties, in the order given (later keys win).
#[derive(Debug, Clone, Default)]
pub struct ClientProperties {
    props: BTreeMap<String, String>,
}

impl ClientProperties {
    pub fn new() -> ClientProperties {
        ClientProperties::default()
    }

    /// Reads a Java properties file (a tool's `--command-config` file).
    pub fn load(path: &str) -> Result<ClientProperties, String> {
        let mut p = ClientProperties::new();
        p.load_file(path)?;
        Ok(p)
    }

    /// Adds the properties of the file at `path` (later keys win).
    pub fn load_file(&mut self, path: &str) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the client configuration file {path}: {e}"))?;
        let entries = crate::config::parse_properties(&text).map_err(|e| format!("{path}: {e}"))?;
        for (k, v) in entries {
            self.props.insert(k, v);
        }
        Ok(())
    }

    /// Adds `key=value` (a `--producer-property` / `--consumer-property`).
    pub fn add_assignment(&mut self, kv: &str) -> Result<(), String> {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("Invalid property '{kv}': expected key=value"))?;
        self.set(k.trim(), v.trim());
        Ok(())
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.props.insert(key.to_string(), value.to_string());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.props.iter()
    }

    /// The connection security these properties ask for. Every value is
    /// checked (files read, keys and certificates parsed) here, before any
    /// connection, so a bad configuration stops a tool before it changes
    /// anything.
    pub fn channel_security(&self) -> Result<ChannelSecurity, String> {
        let protocol = match self.get("security.protocol").map(str::trim) {
            None | Some("") => SecurityProtocol::Plaintext,
            Some(v) => SecurityProtocol::from_name(&v.to_ascii_uppercase()).ok_or_else(|| {
                format!("Invalid value {v} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")
            })?,
        };
        let tls = match protocol {
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
                let raw = |k: &str| self.props.get(k).cloned();
                let settings = crate::security::ssl::SslSettings::from_lookup(&raw, "client configuration")
                    .map_err(|e| format!("client configuration: {e}"))?;
                Some(settings.client_config()?)
            }
            _ => None,
        };
        let sasl = match protocol {
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => Some(self.sasl_credentials()?),
            _ => None,
        };
        Ok(ChannelSecurity { protocol, tls, sasl })
    }

    /// `sasl.mechanism` and the `username`/`password` of `sasl.jaas.config`.
    fn sasl_credentials(&self) -> Result<SaslCredentials, String> {
        let mechanism = self.get("sasl.mechanism").map(str::trim).filter(|m| !m.is_empty()).unwrap_or("GSSAPI").to_string();
        let expected_module = match mechanism.as_str() {
            "PLAIN" => "org.apache.kafka.common.security.plain.PlainLoginModule",
            "SCRAM-SHA-256" | "SCRAM-SHA-512" => "org.apache.kafka.common.security.scram.ScramLoginModule",
            other => {
                return Err(format!(
                    "sasl.mechanism={other} is not supported by zkafka's tools (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512){}",
                    if other == "GSSAPI" { "; GSSAPI is Kafka's default when sasl.mechanism is not set" } else { "" }
                ))
            }
        };
        let text = self.get("sasl.jaas.config").filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            format!("security.protocol={} needs sasl.jaas.config (e.g. {expected_module} required username=\"...\" password=\"...\";); a JAAS file through java.security.auth.login.config is not read", self.get("security.protocol").unwrap_or_default().trim())
        })?;
        let jaas = JaasConfig::parse(text).map_err(|e| format!("sasl.jaas.config: {e}"))?;
        let known = [
            "org.apache.kafka.common.security.plain.PlainLoginModule",
            "org.apache.kafka.common.security.scram.ScramLoginModule",
        ];
        if !known.contains(&jaas.login_module.as_str()) {
            return Err(format!(
                "sasl.jaas.config: login module {} is not supported with sasl.mechanism={mechanism} (use {expected_module})",
                jaas.login_module
            ));
        }
        let (username, password) = jaas
            .username_password()
            .ok_or_else(|| format!("sasl.jaas.config: {} needs username=\"...\" and password=\"...\"", jaas.login_module))?;
        Ok(SaslCredentials { mechanism, username, password })
    }
}

/// The security of a tool's connections from its optional client
/// configuration file (`--command-config` and friends): PLAINTEXT without one.
pub fn channel_security_from_file(path: Option<&str>) -> Result<ChannelSecurity, String> {
    match path {
        None => Ok(ChannelSecurity::plaintext()),
        Some(p) => ClientProperties::load(p)?.channel_security(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> ClientProperties {
        let mut p = ClientProperties::new();
        for (k, v) in kv {
            p.set(k, v);
        }
        p
    }

    #[test]
    fn plaintext_by_default() {
        let s = props(&[]).channel_security().unwrap();
        assert_eq!(s.protocol, SecurityProtocol::Plaintext);
        assert!(s.tls.is_none() && s.sasl.is_none());
        let s = props(&[("security.protocol", "plaintext")]).channel_security().unwrap();
        assert_eq!(s.protocol, SecurityProtocol::Plaintext);
    }

    #[test]
    fn bad_protocol_is_refused() {
        let e = props(&[("security.protocol", "TLS")]).channel_security().unwrap_err();
        assert!(e.contains("Invalid value TLS for configuration security.protocol"), "{e}");
    }

    #[test]
    fn sasl_plaintext_with_scram() {
        let s = props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"a b\";"),
        ])
        .channel_security()
        .unwrap();
        assert_eq!(s.protocol, SecurityProtocol::SaslPlaintext);
        let c = s.sasl.unwrap();
        assert_eq!((c.mechanism.as_str(), c.username.as_str(), c.password.as_str()), ("SCRAM-SHA-512", "admin", "a b"));
    }

    #[test]
    fn sasl_errors_are_clear() {
        let base = [("security.protocol", "SASL_PLAINTEXT")];
        let e = props(&base).channel_security().unwrap_err();
        assert!(e.contains("sasl.mechanism=GSSAPI is not supported"), "{e}");
        let e = props(&[base[0], ("sasl.mechanism", "PLAIN")]).channel_security().unwrap_err();
        assert!(e.contains("needs sasl.jaas.config"), "{e}");
        let e = props(&[base[0], ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", "com.sun.security.auth.module.Krb5LoginModule required;")])
            .channel_security()
            .unwrap_err();
        assert!(e.contains("Krb5LoginModule is not supported"), "{e}");
        let e = props(&[base[0], ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"x\";")])
            .channel_security()
            .unwrap_err();
        assert!(e.contains("needs username"), "{e}");
        let e = props(&[base[0], ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"x\"")])
            .channel_security()
            .unwrap_err();
        assert!(e.contains("does not end with ';'"), "{e}");
        let e = props(&[base[0], ("sasl.mechanism", "OAUTHBEARER")]).channel_security().unwrap_err();
        assert!(e.contains("OAUTHBEARER is not supported"), "{e}");
    }

    #[test]
    fn ssl_needs_readable_stores() {
        let e = props(&[("security.protocol", "SSL")]).channel_security().unwrap_err();
        assert!(e.contains("needs a truststore"), "{e}");
        let e = props(&[("security.protocol", "SSL"), ("ssl.truststore.location", "/nonexistent/ca.pem")]).channel_security().unwrap_err();
        assert!(e.contains("cannot read ssl.truststore.location=/nonexistent/ca.pem"), "{e}");
        let e = props(&[("security.protocol", "SSL"), ("ssl.truststore.type", "BKS"), ("ssl.truststore.location", "/etc/hostname")])
            .channel_security()
            .unwrap_err();
        assert!(e.contains("ssl.truststore.type BKS is not supported"), "{e}");
    }

    #[test]
    fn files_and_assignments() {
        let dir = std::env::temp_dir().join(format!("zkafka-cc-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("admin.properties");
        std::fs::write(&f, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n  username=\"u\" password=\"p\";\n").unwrap();
        let mut p = ClientProperties::load(f.to_str().unwrap()).unwrap();
        assert_eq!(p.get("sasl.mechanism"), Some("PLAIN"));
        p.add_assignment("security.protocol=SASL_PLAINTEXT").unwrap();
        assert!(p.add_assignment("no-equals").is_err());
        let s = p.channel_security().unwrap();
        assert_eq!(s.protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(s.sasl.unwrap().username, "u");
        let e = ClientProperties::load(dir.join("missing").to_str().unwrap()).unwrap_err();
        assert!(e.contains("cannot read the client configuration file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
