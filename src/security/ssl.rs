//! TLS for SSL and SASL_SSL listeners and for the broker's own connections to
//! them: Kafka's `SslFactory` / `DefaultSslEngineFactory` (keystores,
//! truststores, `ssl.client.auth`, `ssl.enabled.protocols`) and
//! `SslPrincipalMapper` (the principal of a client certificate's
//! distinguished name), over rustls with the ring provider.
//!
//! Keystores: `ssl.keystore.type=PEM` with `ssl.keystore.location` (a file
//! holding the private key and the certificate chain) or the inline
//! `ssl.keystore.certificate.chain` / `ssl.keystore.key`; `PKCS12` (and `JKS`
//! when the file is in fact PKCS12, as keytool writes since Java 9) with
//! `ssl.keystore.password` / `ssl.key.password`. Truststores: PEM
//! (`ssl.truststore.location` or inline `ssl.truststore.certificates`) and
//! PKCS12. Every key is read per listener first
//! (`listener.name.<listener>.ssl.*`, `KafkaConfig::listener_prop`).

use crate::config::KafkaConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme, SupportedProtocolVersion};
use std::sync::Arc;

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

impl ClientAuth {
    pub fn parse(v: &str) -> Result<ClientAuth, String> {
        match v.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(ClientAuth::None),
            "requested" => Ok(ClientAuth::Requested),
            "required" => Ok(ClientAuth::Required),
            other => Err(format!("Invalid value {other} for configuration ssl.client.auth: must be one of required, requested, none")),
        }
    }
}

/// A certificate chain and its private key.
pub struct KeyMaterial {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// One listener's TLS settings, read from the broker configuration.
pub struct SslSettings {
    /// What these settings belong to, for messages ("listener SSL", or a
    /// client configuration file).
    pub listener: String,
    pub keystore: Option<KeyMaterial>,
    pub trusted: Vec<CertificateDer<'static>>,
    pub client_auth: ClientAuth,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    /// `ssl.endpoint.identification.algorithm=https` (Kafka's default):
    /// the broker checks the host name of the brokers it connects to.
    pub verify_hostname: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl SslSettings {
    /// Reads `listener`'s `ssl.*` keys (prefixed ones first).
    pub fn from_config(c: &KafkaConfig, listener: &str) -> Result<SslSettings, String> {
        let raw = |k: &str| c.listener_prop(listener, k);
        let name = format!("listener {listener}");
        Self::from_lookup(&raw, &name).map_err(|e| format!("{name}: {e}"))
    }

    /// Reads the `ssl.*` keys through `raw` (a key's value as written,
    /// empty included; `None` when absent). `name` names these settings
    /// in messages (a listener, or a client configuration). Used for the
    /// broker's listeners and for the tools' client properties
    /// (`crate::client::client_config`).
    pub fn from_lookup(raw: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<SslSettings, String> {
        let get = |k: &str| raw(k).filter(|v| !v.trim().is_empty());
        let keystore = load_keystore(&get)?;
        let trusted = load_truststore(&get)?;
        let client_auth = ClientAuth::parse(&get("ssl.client.auth").unwrap_or_default())?;
        let versions = enabled_protocols(&get("ssl.enabled.protocols").unwrap_or_else(|| "TLSv1.2,TLSv1.3".into()))?;
        if let Some(rules) = get("ssl.principal.mapping.rules") {
            PrincipalMapper::parse(&rules)?;
        }
        if get("ssl.cipher.suites").is_some() {
            log::warn!("{name}: ssl.cipher.suites is ignored; the TLS library's safe default suites are used");
        }
        let verify_hostname = get("ssl.endpoint.identification.algorithm").is_some_and(|v| v.eq_ignore_ascii_case("https"))
            // An explicitly empty value turns the check off (Kafka's way);
            // absent means Kafka's default, https.
            || raw("ssl.endpoint.identification.algorithm").is_none();
        Ok(SslSettings { listener: name.to_string(), keystore, trusted, client_auth, versions, verify_hostname })
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, String> {
        let mut roots = RootCertStore::empty();
        for c in &self.trusted {
            roots.add(c.clone()).map_err(|e| format!("{}: bad truststore certificate: {e}", self.listener))?;
        }
        Ok(Arc::new(roots))
    }

    /// The server side of the listener.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, String> {
        let l = &self.listener;
        let ks = self.keystore.as_ref().ok_or_else(|| {
            format!("{l}: an SSL listener needs a keystore (ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key)")
        })?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&self.versions)
            .map_err(|e| format!("{l}: {e}"))?;
        let verifier = match self.client_auth {
            ClientAuth::None => WebPkiClientVerifier::no_client_auth(),
            auth => {
                if self.trusted.is_empty() {
                    return Err(format!("{l}: ssl.client.auth={} needs a truststore (ssl.truststore.location or ssl.truststore.certificates)", if auth == ClientAuth::Required { "required" } else { "requested" }));
                }
                let b = WebPkiClientVerifier::builder_with_provider(self.roots()?, provider());
                let b = if auth == ClientAuth::Requested { b.allow_unauthenticated() } else { b };
                b.build().map_err(|e| format!("{l}: {e}"))?
            }
        };
        let cfg = builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(ks.chain.clone(), ks.key.clone_key())
            .map_err(|e| format!("{l}: the keystore's key and certificate do not fit: {e}"))?;
        Ok(Arc::new(cfg))
    }

    /// The client side, for the broker's own connections to this listener
    /// (controller, replica fetchers): the truststore checks the other
    /// broker, the keystore is this broker's client certificate.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        let l = &self.listener;
        if self.trusted.is_empty() {
            return Err(format!("{l}: connecting to brokers over TLS needs a truststore (ssl.truststore.location or ssl.truststore.certificates)"));
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&self.versions)
            .map_err(|e| format!("{l}: {e}"))?;
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(self.roots()?, provider())
            .build()
            .map_err(|e| format!("{l}: {e}"))?;
        let builder = if self.verify_hostname {
            builder.with_webpki_verifier(webpki)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NoHostnameVerifier(webpki)))
        };
        let cfg = match &self.keystore {
            Some(ks) => builder
                .with_client_auth_cert(ks.chain.clone(), ks.key.clone_key())
                .map_err(|e| format!("{l}: the keystore's key and certificate do not fit: {e}"))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(cfg))
    }
}

/// `ssl.endpoint.identification.algorithm=` (empty): the chain is checked
/// against the truststore, the host name is not.
#[derive(Debug)]
struct NoHostnameVerifier(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `ssl.enabled.protocols`: TLSv1.2 and TLSv1.3 (older versions are not
/// offered by the TLS library and are skipped with a warning).
pub fn enabled_protocols(v: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    for p in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match p {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            "TLSv1" | "TLSv1.1" | "SSLv3" => log::warn!("ssl.enabled.protocols: {p} is not supported and is skipped"),
            other => return Err(format!("Invalid value {v} for configuration ssl.enabled.protocols: unknown protocol {other}")),
        }
    }
    if out.is_empty() {
        return Err(format!("Invalid value {v} for configuration ssl.enabled.protocols: neither TLSv1.2 nor TLSv1.3 is enabled"));
    }
    Ok(out)
}

fn read_file(key: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {key}={path}: {e}"))
}

/// Re-wraps PEM blocks whose line breaks were lost (a multi-line value in a
/// properties file joined with `\` continuations ends up on one line, as
/// Kafka's docs show for `ssl.keystore.key`): the base64 between each
/// `-----BEGIN X-----` / `-----END X-----` pair is stripped of white space
/// and written 64 characters a line.
pub fn normalize_pem(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(b) = rest.find("-----BEGIN ") {
        let after = &rest[b + 11..];
        let Some(label_end) = after.find("-----") else { break };
        let label = &after[..label_end];
        let body_start = b + 11 + label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let Some(e) = rest[body_start..].find(&end_marker) else { break };
        let body: String = rest[body_start..body_start + e].chars().filter(|c| !c.is_whitespace()).collect();
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for chunk in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &rest[body_start + e + end_marker.len()..];
    }
    out
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = normalize_pem(&String::from_utf8_lossy(pem));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: bad PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no certificate found"));
    }
    Ok(certs)
}

fn pem_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, String> {
    let text = normalize_pem(&String::from_utf8_lossy(pem));
    if text.contains("ENCRYPTED PRIVATE KEY") {
        return Err(format!("{what}: encrypted PEM private keys are not supported; give the key unencrypted (PKCS#8) or use a PKCS12 keystore"));
    }
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| format!("{what}: no usable private key: {e}"))
}

fn store_type(get: &dyn Fn(&str) -> Option<String>, key: &str, data: Option<&[u8]>) -> String {
    match get(key) {
        Some(t) => t.trim().to_ascii_uppercase(),
        // Kafka's default is JKS; a PEM file is recognised by its content.
        None if data.is_some_and(|d| String::from_utf8_lossy(&d[..d.len().min(4096)]).contains("-----BEGIN")) => "PEM".into(),
        None => "JKS".into(),
    }
}

fn load_keystore(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<KeyMaterial>, String> {
    if let (Some(chain), Some(key)) = (get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")) {
        if get("ssl.keystore.location").is_some() {
            return Err("ssl.keystore.location cannot be set together with ssl.keystore.certificate.chain and ssl.keystore.key".into());
        }
        let chain = pem_certs(chain.as_bytes(), "ssl.keystore.certificate.chain")?;
        let key = pem_key(key.as_bytes(), "ssl.keystore.key")?;
        return Ok(Some(KeyMaterial { chain, key }));
    }
    if get("ssl.keystore.certificate.chain").is_some() || get("ssl.keystore.key").is_some() {
        return Err("ssl.keystore.certificate.chain and ssl.keystore.key must be set together".into());
    }
    let Some(path) = get("ssl.keystore.location") else { return Ok(None) };
    let data = read_file("ssl.keystore.location", &path)?;
    let what = format!("ssl.keystore.location={path}");
    match store_type(get, "ssl.keystore.type", Some(&data)).as_str() {
        "PEM" => {
            let chain = pem_certs(&data, &what)?;
            let key = pem_key(&data, &what)?;
            Ok(Some(KeyMaterial { chain, key }))
        }
        t @ ("PKCS12" | "JKS") => {
            let password = get("ssl.keystore.password").unwrap_or_default();
            let store = p12_keystore::KeyStore::from_pkcs12(&data, &password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
                .map_err(|e| pkcs12_error(t, &what, e))?;
            let (_, chain) = store.private_key_chain().ok_or_else(|| format!("{what}: the keystore holds no private key entry"))?;
            if chain.certs().is_empty() {
                return Err(format!("{what}: the keystore's key has no certificate"));
            }
            let certs = chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
            Ok(Some(KeyMaterial { chain: certs, key }))
        }
        other => Err(format!("ssl.keystore.type {other} is not supported (PEM, PKCS12)")),
    }
}

fn pkcs12_error(t: &str, what: &str, e: p12_keystore::error::Error) -> String {
    if t == "JKS" {
        format!("{what}: not a PKCS12 file ({e}); Java's proprietary JKS format is not read: convert it with `keytool -importkeystore -deststoretype PKCS12` or use PEM")
    } else {
        format!("{what}: cannot read the PKCS12 store (wrong password or damaged file?): {e}")
    }
}

fn load_truststore(get: &dyn Fn(&str) -> Option<String>) -> Result<Vec<CertificateDer<'static>>, String> {
    if let Some(inline) = get("ssl.truststore.certificates") {
        if get("ssl.truststore.location").is_some() {
            return Err("ssl.truststore.location cannot be set together with ssl.truststore.certificates".into());
        }
        return pem_certs(inline.as_bytes(), "ssl.truststore.certificates");
    }
    let Some(path) = get("ssl.truststore.location") else { return Ok(Vec::new()) };
    let data = read_file("ssl.truststore.location", &path)?;
    let what = format!("ssl.truststore.location={path}");
    match store_type(get, "ssl.truststore.type", Some(&data)).as_str() {
        "PEM" => pem_certs(&data, &what),
        t @ ("PKCS12" | "JKS") => {
            let password = get("ssl.truststore.password").unwrap_or_default();
            let store = p12_keystore::KeyStore::from_pkcs12(&data, &password, p12_keystore::Pkcs12ImportPolicy::Raw)
                .map_err(|e| pkcs12_error(t, &what, e))?;
            let mut certs = Vec::new();
            for (_, entry) in store.entries() {
                match entry {
                    p12_keystore::KeyStoreEntry::Certificate(c) => certs.push(CertificateDer::from(c.as_der().to_vec())),
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(ch) => {
                        certs.extend(ch.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())))
                    }
                    _ => {}
                }
            }
            if certs.is_empty() {
                return Err(format!("{what}: the truststore holds no certificate"));
            }
            Ok(certs)
        }
        other => Err(format!("ssl.truststore.type {other} is not supported (PEM, PKCS12)")),
    }
}

/// `ssl.principal.mapping.rules`: only Kafka's default, `DEFAULT` (the
/// principal's name is the whole distinguished name), is supported.
pub struct PrincipalMapper;

impl PrincipalMapper {
    pub fn parse(rules: &str) -> Result<PrincipalMapper, String> {
        let all_default = rules.split(',').map(str::trim).filter(|r| !r.is_empty()).all(|r| r == "DEFAULT");
        if all_default {
            Ok(PrincipalMapper)
        } else {
            Err(format!("ssl.principal.mapping.rules={rules}: only DEFAULT is supported (RULE:... patterns are not)"))
        }
    }

    /// The principal name of a distinguished name.
    pub fn name(&self, dn: &str) -> String {
        dn.to_string()
    }
}

/// The subject of a DER certificate as Java's `X500Principal.getName()`
/// writes it (RFC 2253): the last RDN first, `CN`, `OU`, `O`, `L`, `ST`,
/// `C`, `DC`, `STREET`, `UID` by keyword, other attributes as
/// `<oid>=#<hex of the DER value>`, special characters escaped.
pub fn subject_dn(cert_der: &[u8]) -> Result<String, String> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(cert_der)
        .map_err(|e| format!("cannot parse the client certificate: {e}"))?;
    let mut rdns = Vec::new();
    for rdn in cert.subject().iter() {
        let mut parts = Vec::new();
        for atv in rdn.iter() {
            let oid = atv.attr_type().to_id_string();
            let value = atv.attr_value();
            let keyword = rfc2253_keyword(&oid);
            let text = match (keyword, attribute_string(value.tag().0, value.data)) {
                (Some(k), Some(s)) => format!("{k}={}", escape_rdn_value(&s)),
                _ => format!("{}=#{}", keyword.unwrap_or(&oid), hex_der(value.tag().0, value.data)),
            };
            parts.push(text);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

fn rfc2253_keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The text of a directory string (UTF8, Printable, IA5, Numeric,
/// Teletex as Latin-1, BMP as UTF-16, Universal as UTF-32).
fn attribute_string(tag: u32, data: &[u8]) -> Option<String> {
    match tag {
        12 | 19 | 22 | 18 | 26 => std::str::from_utf8(data).ok().map(str::to_string),
        20 => Some(data.iter().map(|&b| b as char).collect()),
        30 if data.len().is_multiple_of(2) => {
            String::from_utf16(&data.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>()).ok()
        }
        28 if data.len().is_multiple_of(4) => {
            data.chunks(4).map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect()
        }
        _ => None,
    }
}

fn hex_der(tag: u32, data: &[u8]) -> String {
    let mut der = vec![tag.min(30) as u8];
    let n = data.len();
    if n < 128 {
        der.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend(bytes);
    }
    der.extend_from_slice(data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 2253 escaping: `, + " \ < > ;` anywhere, `#` or a space first, a
/// space last.
pub fn escape_rdn_value(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    for (i, &c) in chars.iter().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == chars.len() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_lost_line_breaks_are_restored() {
        let one_line = "-----BEGIN CERTIFICATE----- QUJD REVG R0hJ -----END CERTIFICATE----- -----BEGIN PRIVATE KEY-----\tS0VZ -----END PRIVATE KEY-----";
        assert_eq!(
            normalize_pem(one_line),
            "-----BEGIN CERTIFICATE-----\nQUJDREVGR0hJ\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"
        );
        let long = format!("-----BEGIN X-----{}-----END X-----", "A".repeat(70));
        assert_eq!(normalize_pem(&long), format!("-----BEGIN X-----\n{}\nAAAAAA\n-----END X-----\n", "A".repeat(64)));
        assert_eq!(normalize_pem("no pem here"), "");
    }

    #[test]
    fn client_auth_and_protocols() {
        assert_eq!(ClientAuth::parse("required").unwrap(), ClientAuth::Required);
        assert_eq!(ClientAuth::parse("REQUESTED").unwrap(), ClientAuth::Requested);
        assert_eq!(ClientAuth::parse("none").unwrap(), ClientAuth::None);
        assert!(ClientAuth::parse("always").unwrap_err().contains("ssl.client.auth"));
        assert_eq!(enabled_protocols("TLSv1.2,TLSv1.3").unwrap().len(), 2);
        assert_eq!(enabled_protocols("TLSv1.3").unwrap(), vec![&rustls::version::TLS13]);
        assert_eq!(enabled_protocols("TLSv1.1, TLSv1.2").unwrap(), vec![&rustls::version::TLS12]);
        assert!(enabled_protocols("TLSv1.1").is_err());
        assert!(enabled_protocols("TLSv9").is_err());
    }

    #[test]
    fn principal_mapping_rules_default_only() {
        let m = PrincipalMapper::parse("DEFAULT").unwrap();
        assert_eq!(m.name("CN=alice,O=acme"), "CN=alice,O=acme");
        assert!(PrincipalMapper::parse("RULE:^CN=(.*?),.*$/$1/,DEFAULT").is_err());
    }

    #[test]
    fn rdn_values_are_escaped_as_rfc2253() {
        assert_eq!(escape_rdn_value("Acme, Inc."), "Acme\\, Inc.");
        assert_eq!(escape_rdn_value("#1 a+b "), "\\#1 a\\+b\\ ");
        assert_eq!(escape_rdn_value(" x\"<>;\\"), "\\ x\\\"\\<\\>\\;\\\\");
        assert_eq!(escape_rdn_value("plain"), "plain");
    }

    /// A self-signed certificate made by openssl for the test (no
    /// certificate is kept in the repository).
    fn openssl_cert(subject: &str) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!("zkafka-dn-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("k.pem"), dir.join("c.pem"));
        let st = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", subject, "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (Debian's package) runs");
        assert!(st.success());
        let pem = std::fs::read(&cert).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        pem_certs(&pem, "test").unwrap().remove(0).to_vec()
    }

    #[test]
    fn subject_dn_matches_java_x500_principal() {
        let der = openssl_cert("/C=US/ST=CA/O=Acme, Inc./OU=eng\\+ops/CN=client 1/emailAddress=a@b.c");
        assert_eq!(
            subject_dn(&der).unwrap(),
            "1.2.840.113549.1.9.1=#16056140622e63,CN=client 1,OU=eng\\+ops,O=Acme\\, Inc.,ST=CA,C=US"
        );
        assert!(subject_dn(b"\x30\x03\x02\x01\x00").is_err());
        // A multi-valued RDN is joined with '+'.
        let der = openssl_cert("/O=acme/CN=bob+UID=b1");
        let dn = subject_dn(&der).unwrap();
        assert!(dn == "CN=bob+UID=b1,O=acme" || dn == "UID=b1+CN=bob,O=acme", "{dn}");
    }
}
