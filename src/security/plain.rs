//! SASL/PLAIN (RFC 4616) and the JAAS-style `sasl.jaas.config` property it
//! reads its users from. Maps to Kafka's `PlainSaslServer`,
//! `PlainServerCallbackHandler` (`user_<name>="<password>"` options) and
//! `JaasConfig` / `JaasContext` (one login module per property, with the
//! `listener.name.<listener>.<mechanism>.` prefix).

use std::collections::BTreeMap;

/// One parsed JAAS login-module entry:
/// `<LoginModule> <flag> key=value ... ;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasConfig {
    pub login_module: String,
    pub control_flag: String,
    pub options: BTreeMap<String, String>,
}

impl JaasConfig {
    /// Parses a `sasl.jaas.config` value. Kafka accepts exactly one login
    /// module per property; values may be bare words or double-quoted
    /// (with `\"` and `\\` escapes).
    pub fn parse(text: &str) -> Result<JaasConfig, String> {
        let tokens = tokenize(text)?;
        let mut it = tokens.into_iter().peekable();
        let login_module = match it.next() {
            Some(Token::Word(w)) => w,
            _ => return Err("JAAS config entry does not start with a login module class".into()),
        };
        let control_flag = match it.next() {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            _ => return Err(format!("JAAS config entry for {login_module} has no control flag")),
        };
        if !["required", "requisite", "sufficient", "optional"].contains(&control_flag.as_str()) {
            return Err(format!("Invalid JAAS config: invalid control flag {control_flag}"));
        }
        let mut options = BTreeMap::new();
        loop {
            match it.next() {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key)) => {
                    if it.next() != Some(Token::Equals) {
                        return Err(format!("Invalid JAAS config: option {key} has no value"));
                    }
                    match it.next() {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => {
                            options.insert(key, v);
                        }
                        _ => return Err(format!("Invalid JAAS config: option {key} has no value")),
                    }
                }
                Some(t) => return Err(format!("Invalid JAAS config: unexpected {t:?}")),
                None => return Err("Invalid JAAS config: the entry does not end with ';'".into()),
            }
        }
        if it.next().is_some() {
            return Err("JAAS config property contains 2 or more login modules, should be 1 module".into());
        }
        Ok(JaasConfig { login_module, control_flag, options })
    }

    /// PLAIN's server users: the `user_<name>` options.
    pub fn plain_users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("user_").map(|u| (u.to_string(), v.clone())))
            .collect()
    }

    /// The `username` / `password` options (what this side logs in with).
    pub fn username_password(&self) -> Option<(String, String)> {
        Some((self.options.get("username")?.clone(), self.options.get("password")?.clone()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '=' {
            chars.next();
            out.push(Token::Equals);
        } else if c == ';' {
            chars.next();
            out.push(Token::Semicolon);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => s.push(e),
                        None => return Err("Invalid JAAS config: unterminated quoted value".into()),
                    },
                    Some(ch) => s.push(ch),
                    None => return Err("Invalid JAAS config: unterminated quoted value".into()),
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '=' || ch == ';' || ch == '"' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(Token::Word(s));
        }
    }
    Ok(out)
}

/// The JAAS config in force for `mechanism` on `listener`, looked up as
/// Kafka does: `listener.name.<listener>.<mechanism>.sasl.jaas.config`
/// (both lower-cased), then `listener.name.<listener>.sasl.jaas.config`,
/// then `sasl.jaas.config`.
pub fn jaas_config_for(props: &BTreeMap<String, String>, listener: &str, mechanism: &str) -> Option<Result<JaasConfig, String>> {
    let l = listener.to_ascii_lowercase();
    let m = mechanism.to_ascii_lowercase();
    [format!("listener.name.{l}.{m}.sasl.jaas.config"), format!("listener.name.{l}.sasl.jaas.config"), "sasl.jaas.config".to_string()]
        .iter()
        .find_map(|k| props.get(k))
        .map(|v| JaasConfig::parse(v))
}

/// Kafka's `PlainSaslServer.evaluateResponse`: `[authzid] NUL authcid NUL
/// passwd`, checked against the listener's users. Errors are the messages
/// Kafka sends to the client.
pub fn evaluate_plain(token: &[u8], users: &BTreeMap<String, String>) -> Result<String, String> {
    let s = String::from_utf8_lossy(token);
    let parts: Vec<&str> = s.split('\u{0}').collect();
    if parts.len() != 3 {
        return Err(format!("Invalid SASL/PLAIN response: expected 3 tokens, got {}", parts.len()));
    }
    let (authz, user, password) = (parts[0], parts[1], parts[2]);
    if user.is_empty() {
        return Err("Authentication failed: username not specified".into());
    }
    if password.is_empty() {
        return Err("Authentication failed: password not specified".into());
    }
    let ok = users.get(user).is_some_and(|expected| {
        expected.len() == password.len() && expected.bytes().zip(password.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    });
    if !ok {
        return Err("Authentication failed: Invalid username or password".into());
    }
    if !authz.is_empty() && authz != user {
        return Err("Authentication failed: Client requested an authorization id that is different from username".into());
    }
    Ok(user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafkas_jaas_examples() {
        let j = JaasConfig::parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
               username="admin" password="admin-secret" user_admin="admin-secret" user_alice="al;ice\"s";"#,
        )
        .unwrap();
        assert_eq!(j.login_module, "org.apache.kafka.common.security.plain.PlainLoginModule");
        assert_eq!(j.control_flag, "required");
        assert_eq!(j.username_password(), Some(("admin".into(), "admin-secret".into())));
        let users = j.plain_users();
        assert_eq!(users.get("alice").map(String::as_str), Some("al;ice\"s"));
        assert_eq!(users.len(), 2);
        let s = JaasConfig::parse("org.apache.kafka.common.security.scram.ScramLoginModule required username=bob password=pw;").unwrap();
        assert_eq!(s.username_password(), Some(("bob".into(), "pw".into())));
    }

    #[test]
    fn rejects_bad_jaas() {
        for bad in [
            "",
            "Mod",
            "Mod required user=\"x\"",
            "Mod maybe;",
            "Mod required user;",
            "Mod required a=\"unterminated;",
            "Mod required; Other required;",
        ] {
            assert!(JaasConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jaas_lookup_order() {
        let mut p = BTreeMap::new();
        p.insert("sasl.jaas.config".to_string(), "A required;".to_string());
        assert_eq!(jaas_config_for(&p, "SASL_PLAINTEXT", "PLAIN").unwrap().unwrap().login_module, "A");
        p.insert("listener.name.sasl_plaintext.sasl.jaas.config".to_string(), "B required;".to_string());
        assert_eq!(jaas_config_for(&p, "SASL_PLAINTEXT", "PLAIN").unwrap().unwrap().login_module, "B");
        p.insert("listener.name.sasl_plaintext.plain.sasl.jaas.config".to_string(), "C required;".to_string());
        assert_eq!(jaas_config_for(&p, "SASL_PLAINTEXT", "PLAIN").unwrap().unwrap().login_module, "C");
        assert!(jaas_config_for(&BTreeMap::new(), "X", "PLAIN").is_none());
    }

    #[test]
    fn plain_tokens() {
        let users: BTreeMap<String, String> = [("alice".to_string(), "pw".to_string())].into();
        assert_eq!(evaluate_plain(b"\0alice\0pw", &users), Ok("alice".into()));
        assert_eq!(evaluate_plain(b"alice\0alice\0pw", &users), Ok("alice".into()));
        assert_eq!(evaluate_plain(b"\0alice\0bad", &users), Err("Authentication failed: Invalid username or password".into()));
        assert_eq!(evaluate_plain(b"\0bob\0pw", &users), Err("Authentication failed: Invalid username or password".into()));
        assert!(evaluate_plain(b"bob\0alice\0pw", &users).unwrap_err().contains("authorization id"));
        assert_eq!(evaluate_plain(b"alice", &users), Err("Invalid SASL/PLAIN response: expected 3 tokens, got 1".into()));
        assert!(evaluate_plain(b"\0\0pw", &users).unwrap_err().contains("username not specified"));
    }
}
