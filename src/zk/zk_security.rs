//! ZooKeeper client security, as Kafka 2.8 sets it up: the JAAS `Client`
//! login read from the `-Djava.security.auth.login.config=` (and
//! `zookeeper.sasl.client`, `zookeeper.sasl.clientconfig`) system properties
//! in `KAFKA_OPTS` (Kafka's `JaasUtils.isZkSaslEnabled`, ZooKeeper's
//! `DigestLoginModule` = SASL DIGEST-MD5), and the ACLs znodes are created
//! with (Kafka's `ZkData.defaultAcls` / `sensitivePath`).

use std::collections::BTreeMap;
use zookeeper_client as zk;

pub const JAVA_LOGIN_CONFIG_PARAM: &str = "java.security.auth.login.config";
pub const ZK_SASL_CLIENT: &str = "zookeeper.sasl.client";
pub const ZK_LOGIN_CONTEXT_NAME_KEY: &str = "zookeeper.sasl.clientconfig";
const DEFAULT_ZK_LOGIN_CONTEXT_NAME: &str = "Client";
const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// The Java system properties that decide ZooKeeper client security, as
/// given with `-D` in `KAFKA_OPTS` (the way Kafka's bin/ scripts pass them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZkSecuritySysProps {
    pub login_config: Option<String>,
    pub sasl_client: Option<String>,
    pub context_name: Option<String>,
}

impl ZkSecuritySysProps {
    /// The `-Dkey=value` options of a JVM option string (the last one wins).
    pub fn from_java_opts(opts: &str) -> Self {
        let mut props = ZkSecuritySysProps::default();
        for word in split_opts(opts) {
            let Some(kv) = word.strip_prefix("-D") else { continue };
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                JAVA_LOGIN_CONFIG_PARAM => props.login_config = Some(v.to_string()),
                ZK_SASL_CLIENT => props.sasl_client = Some(v.to_string()),
                ZK_LOGIN_CONTEXT_NAME_KEY => props.context_name = Some(v.to_string()),
                _ => {}
            }
        }
        props
    }

    /// From the `KAFKA_OPTS` environment variable.
    pub fn from_env() -> Self {
        Self::from_java_opts(&std::env::var("KAFKA_OPTS").unwrap_or_default())
    }

    /// Kafka's `JaasUtils.zkSecuritySysConfigString`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "[{JAVA_LOGIN_CONFIG_PARAM}={}, {ZK_SASL_CLIENT}={}, {ZK_LOGIN_CONTEXT_NAME_KEY}={}]",
            self.login_config.as_deref().unwrap_or("null"),
            self.sasl_client.clone().unwrap_or_else(|| "default:true".into()),
            self.context_name.clone().unwrap_or_else(|| format!("default:{DEFAULT_ZK_LOGIN_CONTEXT_NAME}")),
        )
    }
}

/// Splits a JVM option string on whitespace, honouring '…' and "…" quoting
/// (as the shell does when the scripts expand `$KAFKA_OPTS`).
fn split_opts(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// How the ZooKeeper session authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum ZkSaslLogin {
    /// ZooKeeper's `DigestLoginModule` (`username`, `password`): SASL DIGEST-MD5.
    DigestMd5 { username: String, password: String },
}

impl std::fmt::Debug for ZkSaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZkSaslLogin::DigestMd5 { username, .. } => write!(f, "DigestMd5 {{ username: {username:?}, password: [hidden] }}"),
        }
    }
}

/// One login module entry of a JAAS file section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasEntry {
    pub login_module: String,
    pub control_flag: String,
    pub options: BTreeMap<String, String>,
}

/// Parses a JAAS login configuration file (Java's `ConfigFile` syntax):
/// `Name { Module flag key=value ...; ... };`, with `//` and `/* */` comments.
pub fn parse_jaas_file(text: &str) -> Result<BTreeMap<String, Vec<JaasEntry>>, String> {
    #[derive(Debug, PartialEq)]
    enum T {
        Word(String),
        Quoted(String),
        Open,
        Close,
        Eq,
        Semi,
    }
    let mut toks = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated comment".into());
            }
            i += 2;
        } else if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("unterminated quoted value".into()),
                    Some('"') => break,
                    Some('\\') => {
                        i += 1;
                        match chars.get(i) {
                            Some(e) => s.push(*e),
                            None => return Err("unterminated quoted value".into()),
                        }
                    }
                    Some(ch) => s.push(*ch),
                }
                i += 1;
            }
            i += 1;
            toks.push(T::Quoted(s));
        } else if "{}=;".contains(c) {
            toks.push(match c {
                '{' => T::Open,
                '}' => T::Close,
                '=' => T::Eq,
                _ => T::Semi,
            });
            i += 1;
        } else {
            let mut s = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"{}=;\"".contains(chars[i]) {
                s.push(chars[i]);
                i += 1;
            }
            toks.push(T::Word(s));
        }
    }
    let mut sections: BTreeMap<String, Vec<JaasEntry>> = BTreeMap::new();
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        let T::Word(name) = t else { return Err(format!("expected a login context name, found {t:?}")) };
        if it.next() != Some(T::Open) {
            return Err(format!("expected '{{' after {name}"));
        }
        let mut entries = Vec::new();
        loop {
            match it.next() {
                Some(T::Close) => break,
                Some(T::Word(module)) => {
                    let flag = match it.next() {
                        Some(T::Word(f)) => f.to_ascii_lowercase(),
                        other => return Err(format!("{name}: login module {module} has no control flag ({other:?})")),
                    };
                    if !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str()) {
                        return Err(format!("{name}: invalid control flag {flag}"));
                    }
                    let mut options = BTreeMap::new();
                    loop {
                        match it.next() {
                            Some(T::Semi) => break,
                            Some(T::Word(k)) => {
                                if it.next() != Some(T::Eq) {
                                    return Err(format!("{name}: option {k} has no value"));
                                }
                                match it.next() {
                                    Some(T::Word(v)) | Some(T::Quoted(v)) => {
                                        options.insert(k, v);
                                    }
                                    _ => return Err(format!("{name}: option {k} has no value")),
                                }
                            }
                            other => return Err(format!("{name}: unexpected {other:?} in the options of {module}")),
                        }
                    }
                    entries.push(JaasEntry { login_module: module, control_flag: flag, options });
                }
                other => return Err(format!("{name}: unexpected {other:?}")),
            }
        }
        if it.peek() == Some(&T::Semi) {
            it.next();
        }
        sections.entry(name).or_default().extend(entries);
    }
    Ok(sections)
}

/// Kafka's `JaasUtils.isZkSaslEnabled` with the login it implies: `None`
/// when no JAAS file or no `Client` (or `zookeeper.sasl.clientconfig`)
/// section is configured; an error when the file cannot be read or parsed,
/// when the section exists but `zookeeper.sasl.client=false`, or when its
/// login module is one zkafka cannot use (only `DigestLoginModule`).
pub fn zk_sasl_login(props: &ZkSecuritySysProps) -> Result<Option<ZkSaslLogin>, String> {
    let Some(file) = props.login_config.as_deref().filter(|f| !f.is_empty()) else { return Ok(None) };
    let fail = |what: String| format!("Exception while loading Zookeeper JAAS login context {}: {what}", props.describe());
    let text = std::fs::read_to_string(file).map_err(|e| fail(format!("cannot read {file}: {e}")))?;
    let sections = parse_jaas_file(&text).map_err(|e| fail(format!("{file}: {e}")))?;
    let context = props.context_name.as_deref().unwrap_or(DEFAULT_ZK_LOGIN_CONTEXT_NAME);
    let Some(entries) = sections.get(context) else { return Ok(None) };
    let sasl_enabled = props.sasl_client.as_deref().map(|v| v.trim().eq_ignore_ascii_case("true")).unwrap_or(true);
    if !sasl_enabled {
        return Err(format!(
            "Exception while determining if ZooKeeper is secure {}: JAAS configuration is present, but system property \
             {ZK_SASL_CLIENT} is set to false, which disables SASL in the ZooKeeper client",
            props.describe()
        ));
    }
    let Some(entry) = entries.first() else {
        return Err(fail(format!("the {context} section of {file} has no login module")));
    };
    if entry.login_module != DIGEST_LOGIN_MODULE {
        return Err(fail(format!(
            "login module {} of section {context} is not supported: zkafka's ZooKeeper client authenticates with \
             {DIGEST_LOGIN_MODULE} (SASL DIGEST-MD5) only, not Kerberos/GSSAPI",
            entry.login_module
        )));
    }
    match (entry.options.get("username"), entry.options.get("password")) {
        (Some(u), Some(p)) => Ok(Some(ZkSaslLogin::DigestMd5 { username: u.clone(), password: p.clone() })),
        _ => Err(fail(format!("section {context} of {file} needs username and password options"))),
    }
}

/// The session's security: how it authenticates and whether znodes are
/// created with Kafka's secure ACLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZkSecurity {
    pub sasl: Option<ZkSaslLogin>,
    /// Kafka's `isSecure` (`zookeeper.set.acl` for the broker).
    pub secure_acls: bool,
}

impl ZkSecurity {
    /// As Kafka's ZooKeeper-mode tools: authenticate when a JAAS `Client`
    /// login is configured, and then create znodes with secure ACLs
    /// (`KafkaZkClient(zkConnect, JaasUtils.isZkSaslEnabled, ...)`).
    pub fn for_tools(props: &ZkSecuritySysProps) -> Result<ZkSecurity, String> {
        let sasl = zk_sasl_login(props)?;
        Ok(ZkSecurity { secure_acls: sasl.is_some(), sasl })
    }

    /// As Kafka's broker: authenticate when a JAAS `Client` login is
    /// configured; secure ACLs when `zookeeper.set.acl=true`, which needs
    /// an authenticated session (refused otherwise, as `KafkaServer` does).
    pub fn for_broker(props: &ZkSecuritySysProps, set_acl: bool) -> Result<ZkSecurity, String> {
        let sasl = zk_sasl_login(props)?;
        if set_acl && sasl.is_none() {
            return Err(format!(
                "zookeeper.set.acl is true, but the verification of the JAAS login file failed {}: give a JAAS file \
                 with a Client section (org.apache.zookeeper.server.auth.DigestLoginModule required username=... \
                 password=...;) through KAFKA_OPTS=-D{JAVA_LOGIN_CONFIG_PARAM}=<file> (zkafka's ZooKeeper client \
                 authenticates with SASL DIGEST-MD5 only; ZooKeeper TLS client authentication is not supported)",
                props.describe()
            ));
        }
        Ok(ZkSecurity { sasl, secure_acls: set_acl })
    }

    pub fn sasl_options(&self) -> Option<zk::SaslOptions> {
        match &self.sasl {
            None => None,
            Some(ZkSaslLogin::DigestMd5 { username, password }) => {
                Some(zk::SaslOptions::digest_md5(username.clone(), password.clone()).into())
            }
        }
    }
}

/// Kafka's `ZkData.SensitiveRootPaths` (relative to the chroot): SCRAM
/// credentials, broker configs (passwords), delegation tokens.
const SENSITIVE_ROOT_PATHS: [&str; 3] = ["/config/users", "/config/brokers", "/delegation_token/tokens"];

/// Kafka's `ZkData.sensitivePath`.
pub fn sensitive_path(path: &str) -> bool {
    SENSITIVE_ROOT_PATHS.iter().any(|p| path.starts_with(p))
}

static SECURE_ACLS: [zk::Acl; 2] =
    [zk::Acl::new_const(zk::Permission::ALL, "auth", ""), zk::Acl::new_const(zk::Permission::READ, "world", "anyone")];
static SENSITIVE_ACLS: [zk::Acl; 1] = [zk::Acl::new_const(zk::Permission::ALL, "auth", "")];

/// Kafka's `ZkData.defaultAcls`: open unless secure; secure = the creator
/// (its authenticated ids, `sasl:<user>`) has ALL and the world READ, except
/// sensitive paths which the world cannot read. `/consumers` stays open.
pub fn default_acls(secure: bool, path: &str) -> zk::Acls<'static> {
    if !secure || path == "/consumers" {
        zk::Acls::anyone_all()
    } else if sensitive_path(path) {
        zk::Acls::new(&SENSITIVE_ACLS)
    } else {
        zk::Acls::new(&SECURE_ACLS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_opts() {
        let p = ZkSecuritySysProps::from_java_opts(
            "-Xmx1g -Djava.security.auth.login.config=/etc/kafka/jaas.conf '-Dzookeeper.sasl.clientconfig=ZkClient' -Dother=1",
        );
        assert_eq!(p.login_config.as_deref(), Some("/etc/kafka/jaas.conf"));
        assert_eq!(p.context_name.as_deref(), Some("ZkClient"));
        assert_eq!(p.sasl_client, None);
        assert_eq!(ZkSecuritySysProps::from_java_opts(""), ZkSecuritySysProps::default());
        assert!(p.describe().contains("zookeeper.sasl.client=default:true"));
    }

    #[test]
    fn jaas_file() {
        let text = r#"
            // the broker's own logins
            KafkaServer {
                org.apache.kafka.common.security.plain.PlainLoginModule required
                username="admin" password="a;b" user_admin="x";
            };
            /* ZooKeeper */
            Client {
               org.apache.zookeeper.server.auth.DigestLoginModule required
               username="kafka"
               password="kafka-secret";
            };
        "#;
        let s = parse_jaas_file(text).unwrap();
        assert_eq!(s["KafkaServer"][0].options["password"], "a;b");
        assert_eq!(s["Client"][0].login_module, DIGEST_LOGIN_MODULE);
        assert_eq!(s["Client"][0].options["username"], "kafka");
        assert!(parse_jaas_file("Client { x required a=; };").is_err());
        assert!(parse_jaas_file("Client { x bogus; };").is_err());
        assert!(parse_jaas_file("Client { x required a=\"b ").is_err());
        assert!(parse_jaas_file("Client ").is_err());
        assert!(parse_jaas_file("").unwrap().is_empty());
    }

    /// A JAAS file in a fresh temporary directory (removed on drop).
    struct TempJaas(std::path::PathBuf);
    impl Drop for TempJaas {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn with_file(text: &str) -> (TempJaas, ZkSecuritySysProps) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("zkafka-jaas-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jaas.conf");
        std::fs::write(&path, text).unwrap();
        let props = ZkSecuritySysProps { login_config: Some(path.display().to_string()), ..Default::default() };
        (TempJaas(dir), props)
    }

    #[test]
    fn login_decisions() {
        let digest = "Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=\"kafka\" password=\"pw\"; };";
        let (_d, props) = with_file(digest);
        let login = ZkSaslLogin::DigestMd5 { username: "kafka".into(), password: "pw".into() };
        assert_eq!(zk_sasl_login(&props).unwrap(), Some(login.clone()));
        assert_eq!(ZkSecurity::for_broker(&props, true).unwrap(), ZkSecurity { sasl: Some(login.clone()), secure_acls: true });
        assert_eq!(ZkSecurity::for_broker(&props, false).unwrap().secure_acls, false);
        assert!(ZkSecurity::for_tools(&props).unwrap().secure_acls);
        // Another context name: no Client login.
        let other = ZkSecuritySysProps { context_name: Some("ZkClient".into()), ..props.clone() };
        assert_eq!(zk_sasl_login(&other).unwrap(), None);
        assert!(ZkSecurity::for_broker(&other, true).unwrap_err().contains("zookeeper.set.acl is true"));
        assert_eq!(ZkSecurity::for_tools(&other).unwrap(), ZkSecurity::default());
        // SASL disabled while the section exists: Kafka refuses.
        let off = ZkSecuritySysProps { sasl_client: Some("false".into()), ..props.clone() };
        assert!(zk_sasl_login(&off).unwrap_err().contains("zookeeper.sasl.client is set to false"));
        // No JAAS file at all.
        assert_eq!(zk_sasl_login(&ZkSecuritySysProps::default()).unwrap(), None);
        assert!(ZkSecurity::for_broker(&ZkSecuritySysProps::default(), true).is_err());
        assert_eq!(ZkSecurity::for_broker(&ZkSecuritySysProps::default(), false).unwrap(), ZkSecurity::default());
        // A missing file, Kerberos, missing password.
        let missing = ZkSecuritySysProps { login_config: Some("/nonexistent/jaas.conf".into()), ..Default::default() };
        assert!(zk_sasl_login(&missing).unwrap_err().contains("cannot read"));
        let (_d2, krb) = with_file("Client { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };");
        assert!(zk_sasl_login(&krb).unwrap_err().contains("not supported"));
        let (_d3, nopw) = with_file("Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=kafka; };");
        assert!(zk_sasl_login(&nopw).unwrap_err().contains("username and password"));
        assert!(!format!("{login:?}").contains("pw"));
    }

    #[test]
    fn acls_by_path() {
        assert_eq!(&*default_acls(false, "/config/users/alice"), &*zk::Acls::anyone_all());
        assert_eq!(&*default_acls(true, "/consumers"), &*zk::Acls::anyone_all());
        let topic = default_acls(true, "/brokers/topics/t");
        assert_eq!(topic.len(), 2);
        assert_eq!((topic[0].scheme(), topic[0].id(), topic[0].permission()), ("auth", "", zk::Permission::ALL));
        assert_eq!((topic[1].scheme(), topic[1].id(), topic[1].permission()), ("world", "anyone", zk::Permission::READ));
        for p in ["/config/users", "/config/users/alice", "/config/brokers/0", "/delegation_token/tokens/x"] {
            let a = default_acls(true, p);
            assert_eq!(a.len(), 1, "{p}");
            assert_eq!(a[0].scheme(), "auth");
        }
        assert!(!sensitive_path("/config/topics/t"));
        assert!(!sensitive_path("/config"));
    }
}
