//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677): the key derivations,
//! the credential string Kafka stores in `/config/users/<user>`, and the
//! server and client sides of the exchange. Maps to Kafka's `ScramMechanism`,
//! `ScramFormatter`, `ScramCredentialUtils`, `ScramMessages`,
//! `ScramSaslServer` and `ScramSaslClient`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256, Sha512};
use std::collections::BTreeMap;

/// Kafka's `ScramMechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        Self::ALL.into_iter().find(|m| m.mechanism_name() == name)
    }

    /// The `mechanism` byte of DescribeUserScramCredentials /
    /// AlterUserScramCredentials (`org.apache.kafka.clients.admin.ScramMechanism`).
    pub fn type_id(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_type_id(id: i8) -> Option<ScramMechanism> {
        Self::ALL.into_iter().find(|m| m.type_id() == id)
    }

    /// Kafka's `minIterations` (4096 for both).
    pub fn min_iterations(self) -> i32 {
        4096
    }

    /// The length of a hash / HMAC of this mechanism.
    pub fn hash_len(self) -> usize {
        match self {
            ScramMechanism::Sha256 => 32,
            ScramMechanism::Sha512 => 64,
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so new_from_slice cannot fail.
        match self {
            ScramMechanism::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    /// RFC 5802's `Hi(password, salt, i)` = PBKDF2 with this HMAC.
    pub fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.hash_len()];
        match self {
            ScramMechanism::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            ScramMechanism::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }

    pub fn client_key(self, salted_password: &[u8]) -> Vec<u8> {
        self.hmac(salted_password, b"Client Key")
    }

    pub fn server_key(self, salted_password: &[u8]) -> Vec<u8> {
        self.hmac(salted_password, b"Server Key")
    }

    pub fn stored_key(self, client_key: &[u8]) -> Vec<u8> {
        self.hash(client_key)
    }
}

/// Kafka's `ScramCredential`: what the server keeps for a user (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl ScramCredential {
    /// Derives the credential from the salted password (what
    /// AlterUserScramCredentials carries).
    pub fn from_salted_password(mechanism: ScramMechanism, salt: &[u8], salted_password: &[u8], iterations: i32) -> ScramCredential {
        let client_key = mechanism.client_key(salted_password);
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: mechanism.stored_key(&client_key),
            server_key: mechanism.server_key(salted_password),
            iterations,
        }
    }

    /// Kafka's `ScramFormatter.generateCredential`.
    pub fn generate(mechanism: ScramMechanism, password: &str, salt: &[u8], iterations: i32) -> ScramCredential {
        let salted = mechanism.hi(password.as_bytes(), salt, iterations.max(1) as u32);
        Self::from_salted_password(mechanism, salt, &salted, iterations)
    }

    /// Kafka's `ScramCredentialUtils.credentialToString`:
    /// `salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>`.
    pub fn to_config_string(&self) -> String {
        format!(
            "salt={},stored_key={},server_key={},iterations={}",
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key),
            self.iterations
        )
    }

    /// Kafka's `ScramCredentialUtils.credentialFromString`.
    pub fn from_config_string(s: &str) -> Option<ScramCredential> {
        let mut props = BTreeMap::new();
        for part in s.split(',') {
            let (k, v) = part.split_once('=')?;
            props.insert(k.trim(), v.trim());
        }
        if props.len() != 4 {
            return None;
        }
        let b = |k: &str| props.get(k).and_then(|v| B64.decode(v).ok());
        Some(ScramCredential {
            salt: b("salt")?,
            stored_key: b("stored_key")?,
            server_key: b("server_key")?,
            iterations: props.get("iterations")?.parse().ok()?,
        })
    }
}

/// Kafka's `ScramFormatter.secureRandomString`: a random base-36 string
/// (nonces, and the salts `kafka-configs` generates).
pub fn secure_random_string() -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    (0..26).map(|_| DIGITS[rng.gen_range(0..DIGITS.len())] as char).collect()
}

/// The `saslname` form of a user name (RFC 5802 §5.1: `,` → `=2C`, `=` → `=3D`).
pub fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

/// Back from `saslname`; `None` for a stray `=`.
pub fn username_from_sasl_name(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3)?;
        match esc {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a SCRAM exchange failed. `Authentication` messages go to the client
/// as they are (Kafka's `SaslAuthenticationException`); `Sasl` ones are
/// replaced by the generic "invalid credentials" text (Kafka's
/// `SaslException`, which may name things a client must not learn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslError {
    Authentication(String),
    Sasl(String),
}

impl SaslError {
    pub fn detail(&self) -> &str {
        match self {
            SaslError::Authentication(m) | SaslError::Sasl(m) => m,
        }
    }
}

/// The parsed client-first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirstMessage {
    pub authorization_id: String,
    pub username: String,
    pub nonce: String,
    /// `n=...,r=...[,ext]`, part of the AuthMessage.
    pub bare: String,
}

impl ClientFirstMessage {
    /// `gs2-header client-first-message-bare`, where the header is `n,,` or
    /// `n,a=<authzid>,` (no channel binding, as Kafka).
    pub fn parse(bytes: &[u8]) -> Result<ClientFirstMessage, SaslError> {
        let bad = || SaslError::Sasl("Invalid SCRAM client first message format".into());
        let s = std::str::from_utf8(bytes).map_err(|_| bad())?;
        let rest = s.strip_prefix("n,").ok_or_else(bad)?;
        let (authz, bare) = rest.split_once(',').ok_or_else(bad)?;
        let authorization_id = if authz.is_empty() {
            String::new()
        } else {
            username_from_sasl_name(authz.strip_prefix("a=").ok_or_else(bad)?).ok_or_else(bad)?
        };
        let mut parts = bare.split(',');
        let name = parts.next().and_then(|p| p.strip_prefix("n=")).ok_or_else(bad)?;
        let nonce = parts.next().and_then(|p| p.strip_prefix("r=")).ok_or_else(bad)?;
        if name.is_empty() || nonce.is_empty() || nonce.contains(|c: char| !(c.is_ascii_graphic() && c != ',')) {
            return Err(bad());
        }
        // extensions (`key=value`), e.g. tokenauth; ignored as Kafka ignores unknown ones
        for ext in parts {
            if !ext.contains('=') {
                return Err(bad());
            }
        }
        Ok(ClientFirstMessage {
            authorization_id,
            username: username_from_sasl_name(name).ok_or_else(bad)?,
            nonce: nonce.to_string(),
            bare: bare.to_string(),
        })
    }
}

/// Where a server-side exchange is.
#[derive(Debug)]
enum ServerState {
    ReceiveClientFirst,
    ReceiveClientFinal { client_first_bare: String, server_first: String, credential: ScramCredential },
    Complete,
    Failed,
}

/// Kafka's `ScramSaslServer`: client-first → server-first, client-final
/// (proof checked against the stored key) → server-final.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: ServerState,
    server_nonce: String,
    username: Option<String>,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        Self::with_nonce(mechanism, secure_random_string())
    }

    /// A server with a chosen nonce (test vectors).
    pub fn with_nonce(mechanism: ScramMechanism, server_nonce: String) -> ScramServer {
        ScramServer { mechanism, state: ServerState::ReceiveClientFirst, server_nonce, username: None }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, ServerState::Complete)
    }

    /// The authenticated user, once complete.
    pub fn authorization_id(&self) -> Option<&str> {
        if self.is_complete() {
            self.username.as_deref()
        } else {
            None
        }
    }

    /// One client message in, one server message out. `lookup` finds the
    /// user's credential for this mechanism.
    pub fn evaluate(
        &mut self,
        token: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, SaslError> {
        let r = self.step(token, lookup);
        if r.is_err() {
            self.state = ServerState::Failed;
        }
        r
    }

    fn step(&mut self, token: &[u8], lookup: impl FnOnce(&str) -> Option<ScramCredential>) -> Result<Vec<u8>, SaslError> {
        match std::mem::replace(&mut self.state, ServerState::Failed) {
            ServerState::ReceiveClientFirst => {
                let first = ClientFirstMessage::parse(token)?;
                let credential =
                    lookup(&first.username).ok_or_else(|| SaslError::Sasl("Authentication failed: Invalid user credentials".into()))?;
                if !first.authorization_id.is_empty() && first.authorization_id != first.username {
                    return Err(SaslError::Authentication(
                        "Authentication failed: Client requested an authorization id that is different from username".into(),
                    ));
                }
                if credential.iterations < self.mechanism.min_iterations() {
                    return Err(SaslError::Sasl(format!(
                        "Iterations {} is less than the minimum {} for {}",
                        credential.iterations,
                        self.mechanism.min_iterations(),
                        self.mechanism.mechanism_name()
                    )));
                }
                let nonce = format!("{}{}", first.nonce, self.server_nonce);
                let server_first = format!("r={},s={},i={}", nonce, B64.encode(&credential.salt), credential.iterations);
                self.username = Some(first.username.clone());
                let out = server_first.clone().into_bytes();
                self.state = ServerState::ReceiveClientFinal { client_first_bare: first.bare, server_first, credential };
                Ok(out)
            }
            ServerState::ReceiveClientFinal { client_first_bare, server_first, credential } => {
                let bad = || SaslError::Sasl("Authentication failed: Invalid client final message".into());
                let s = std::str::from_utf8(token).map_err(|_| bad())?;
                let (without_proof, proof) = s.rsplit_once(",p=").ok_or_else(bad)?;
                let mut parts = without_proof.split(',');
                let _channel_binding = parts.next().and_then(|p| p.strip_prefix("c=")).ok_or_else(bad)?;
                let _final_nonce = parts.next().and_then(|p| p.strip_prefix("r=")).ok_or_else(bad)?;
                // Like Kafka's ScramSaslServer, the nonce echoed here is not
                // compared with ours: the proof covers this message as sent
                // and the server-first message with our nonce, so a replay
                // cannot pass. (Some librdkafka versions repeat their own
                // nonce here, and Kafka accepts it.)
                let proof = B64.decode(proof).map_err(|_| bad())?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let client_signature = self.mechanism.hmac(&credential.stored_key, auth_message.as_bytes());
                if proof.len() != client_signature.len() {
                    return Err(SaslError::Sasl("Invalid client credentials".into()));
                }
                let client_key = xor(&proof, &client_signature);
                if !constant_time_eq(&self.mechanism.hash(&client_key), &credential.stored_key) {
                    return Err(SaslError::Sasl("Invalid client credentials".into()));
                }
                let server_signature = self.mechanism.hmac(&credential.server_key, auth_message.as_bytes());
                self.state = ServerState::Complete;
                Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
            }
            ServerState::Complete | ServerState::Failed => {
                Err(SaslError::Authentication("Unexpected challenge in Sasl server state".into()))
            }
        }
    }
}

/// Kafka's `ScramSaslClient`, for broker-to-broker connections and tools.
pub struct ScramClient {
    mechanism: ScramMechanism,
    username: String,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    pub fn new(mechanism: ScramMechanism, username: &str, password: &str) -> ScramClient {
        Self::with_nonce(mechanism, username, password, secure_random_string())
    }

    pub fn with_nonce(mechanism: ScramMechanism, username: &str, password: &str, nonce: String) -> ScramClient {
        let client_first_bare = format!("n={},r={}", sasl_name(username), nonce);
        ScramClient {
            mechanism,
            username: username.to_string(),
            password: password.to_string(),
            client_nonce: nonce,
            client_first_bare,
            expected_server_signature: None,
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message for the server-first one.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let s = std::str::from_utf8(server_first).map_err(|_| "server-first message is not UTF-8".to_string())?;
        if let Some(e) = s.strip_prefix("e=") {
            return Err(format!("server error: {e}"));
        }
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in s.split(',') {
            if let Some(v) = part.strip_prefix("r=") {
                nonce = Some(v.to_string());
            } else if let Some(v) = part.strip_prefix("s=") {
                salt = Some(B64.decode(v).map_err(|_| "bad salt in server-first message".to_string())?);
            } else if let Some(v) = part.strip_prefix("i=") {
                iterations = Some(v.parse::<u32>().map_err(|_| "bad iteration count in server-first message".to_string())?);
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(format!("invalid server-first message: {s}"));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("server nonce does not extend the client nonce".into());
        }
        if iterations < self.mechanism.min_iterations() as u32 {
            return Err(format!("iteration count {iterations} is below the minimum"));
        }
        let salted = self.mechanism.hi(self.password.as_bytes(), &salt, iterations);
        let client_key = self.mechanism.client_key(&salted);
        let stored_key = self.mechanism.stored_key(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{},{}", self.client_first_bare, s, without_proof);
        let client_signature = self.mechanism.hmac(&stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &client_signature);
        let server_key = self.mechanism.server_key(&salted);
        self.expected_server_signature = Some(self.mechanism.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message's signature.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let s = std::str::from_utf8(server_final).map_err(|_| "server-final message is not UTF-8".to_string())?;
        if let Some(e) = s.strip_prefix("e=") {
            return Err(format!("server error: {e}"));
        }
        let v = s.strip_prefix("v=").ok_or_else(|| format!("invalid server-final message: {s}"))?;
        let sig = B64.decode(v.split(',').next().unwrap_or("")).map_err(|_| "bad server signature".to_string())?;
        match &self.expected_server_signature {
            Some(expected) if constant_time_eq(expected, &sig) => Ok(()),
            _ => Err("Invalid server signature in server final message".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3: user "user", password "pencil".
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc7677_credential() -> ScramCredential {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        ScramCredential::generate(ScramMechanism::Sha256, "pencil", &salt, 4096)
    }

    #[test]
    fn rfc7677_client_side() {
        let mut c = ScramClient::with_nonce(ScramMechanism::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(c.client_first(), CLIENT_FIRST.as_bytes());
        assert_eq!(String::from_utf8(c.client_final(SERVER_FIRST.as_bytes()).unwrap()).unwrap(), CLIENT_FINAL);
        c.verify_server_final(SERVER_FINAL.as_bytes()).unwrap();
        assert!(c.verify_server_final(b"v=AAAA").is_err());
    }

    #[test]
    fn rfc7677_server_side() {
        let mut s = ScramServer::with_nonce(ScramMechanism::Sha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        let cred = rfc7677_credential();
        let first = s.evaluate(CLIENT_FIRST.as_bytes(), |u| (u == "user").then(|| cred.clone())).unwrap();
        assert_eq!(String::from_utf8(first).unwrap(), SERVER_FIRST);
        assert!(!s.is_complete());
        let fin = s.evaluate(CLIENT_FINAL.as_bytes(), |_| None).unwrap();
        assert_eq!(String::from_utf8(fin).unwrap(), SERVER_FINAL);
        assert_eq!(s.authorization_id(), Some("user"));
    }

    #[test]
    fn wrong_proof_unknown_user_and_garbage_fail() {
        let cred = rfc7677_credential();
        let mut s = ScramServer::with_nonce(ScramMechanism::Sha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        s.evaluate(CLIENT_FIRST.as_bytes(), |_| Some(cred.clone())).unwrap();
        let bad = CLIENT_FINAL.replace("p=dHzb", "p=eHzb");
        assert!(matches!(s.evaluate(bad.as_bytes(), |_| None), Err(SaslError::Sasl(_))));
        assert!(!s.is_complete());

        let mut s = ScramServer::new(ScramMechanism::Sha256);
        assert_eq!(
            s.evaluate(CLIENT_FIRST.as_bytes(), |_| None),
            Err(SaslError::Sasl("Authentication failed: Invalid user credentials".into()))
        );
        for garbage in [&b""[..], b"x", b"n,,", b"n,,n=,r=", b"y,,n=u,r=x", b"n,,n=u", b"\xff\xfe"] {
            let mut s = ScramServer::new(ScramMechanism::Sha256);
            assert!(s.evaluate(garbage, |_| Some(cred.clone())).is_err(), "{garbage:?}");
        }
        // a different nonce in the final message
        let mut s = ScramServer::with_nonce(ScramMechanism::Sha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        s.evaluate(CLIENT_FIRST.as_bytes(), |_| Some(cred.clone())).unwrap();
        assert!(s.evaluate(CLIENT_FINAL.replace("k0,p", "k1,p").as_bytes(), |_| None).is_err());
    }

    #[test]
    fn sha512_exchange_between_our_client_and_server() {
        let cred = ScramCredential::generate(ScramMechanism::Sha512, "secret", b"salty", 4096);
        let mut c = ScramClient::new(ScramMechanism::Sha512, "a,b=c", "secret");
        let mut s = ScramServer::new(ScramMechanism::Sha512);
        let sf = s.evaluate(&c.client_first(), |u| (u == "a,b=c").then(|| cred.clone())).unwrap();
        let cf = c.client_final(&sf).unwrap();
        let fin = s.evaluate(&cf, |_| None).unwrap();
        c.verify_server_final(&fin).unwrap();
        assert_eq!(s.authorization_id(), Some("a,b=c"));
    }

    #[test]
    fn credential_string_as_kafka_stores_it() {
        let cred = ScramCredential { salt: b"ab".to_vec(), stored_key: vec![1, 2, 3], server_key: vec![255], iterations: 8192 };
        let s = cred.to_config_string();
        assert_eq!(s, "salt=YWI=,stored_key=AQID,server_key=/w==,iterations=8192");
        assert_eq!(ScramCredential::from_config_string(&s), Some(cred));
        assert_eq!(ScramCredential::from_config_string("salt=YWI=,iterations=1"), None);
        assert_eq!(ScramCredential::from_config_string("garbage"), None);
    }

    #[test]
    fn sasl_names() {
        assert_eq!(sasl_name("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(username_from_sasl_name("a=2Cb=3Dc").as_deref(), Some("a,b=c"));
        assert_eq!(username_from_sasl_name("a=xx"), None);
    }
}
