//! Java key and trust stores read without a JVM: JKS (Sun's format, read here: no well-kept
//! crate reads it), PKCS12 (the `p12-keystore` crate) and PEM, as Kafka's `ssl.truststore.*` /
//! `ssl.keystore.*` keys name them. Everything comes out as DER: certificates, and the
//! client's private key as PKCS#8.

use crate::SecurityError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::CertificateDer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
    Pem,
}

impl StoreType {
    pub fn parse(key: &str, value: &str) -> Result<Self, SecurityError> {
        match value.trim().to_ascii_uppercase().as_str() {
            "JKS" => Ok(Self::Jks),
            "PKCS12" => Ok(Self::Pkcs12),
            "PEM" => Ok(Self::Pem),
            _ => Err(SecurityError::Invalid { key: key.into(), value: value.into(), why: "the store types are JKS, PKCS12 and PEM".into() }),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Jks => "JKS",
            Self::Pkcs12 => "PKCS12",
            Self::Pem => "PEM",
        }
    }
}

/// A client certificate chain (leaf first) and its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8, unencrypted.
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial").field("chain", &self.chain.len()).field("pkcs8", &"[hidden]").finish()
    }
}

/// `der` blocks as PEM with `label`.
pub fn pem(label: &str, der: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for block in der {
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        let text = B64.encode(block);
        for line in text.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
    }
    out
}

fn store_error(key: &str, path: &str, why: impl std::fmt::Display) -> SecurityError {
    SecurityError::Store { key: key.into(), path: path.into(), why: why.to_string() }
}

/// The certificates of a PEM text (`key` names the setting, for errors).
pub fn pem_certificates(key: &str, text: &str) -> Result<Vec<Vec<u8>>, SecurityError> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| SecurityError::InvalidSecret { key: key.into(), why: format!("not PEM certificates: {e}") })?;
    if certs.is_empty() {
        return Err(SecurityError::InvalidSecret { key: key.into(), why: "no PEM certificate in it".into() });
    }
    Ok(certs)
}

/// The private key of a PEM text: PKCS#8, encrypted (`password` given) or not, as Kafka's PEM
/// keystores take.
fn pem_private_key(key: &str, text: &str, password: Option<&str>) -> Result<Vec<u8>, SecurityError> {
    let bad = |why: String| SecurityError::InvalidSecret { key: key.into(), why };
    if let Some(der) = encrypted_pem_block(text) {
        let der = der.map_err(|_| bad("the ENCRYPTED PRIVATE KEY block is not base64".into()))?;
        let password =
            password.ok_or_else(|| SecurityError::Missing { key: "ssl.key.password".into(), why: format!("the private key in {key} is encrypted") })?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| bad(format!("not an encrypted PKCS#8 key: {e}")))?;
        let doc = info
            .decrypt(password)
            .map_err(|_| SecurityError::InvalidSecret { key: "ssl.key.password".into(), why: format!("it does not decrypt the private key in {key}") })?;
        return Ok(doc.as_bytes().to_vec());
    }
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(text.as_bytes()) {
        let (kind, der) = section.map_err(|e| bad(format!("not PEM: {e}")))?;
        match kind {
            SectionKind::PrivateKey => return Ok(der),
            SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                return Err(bad("the private key must be PKCS#8 (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY), as Kafka requires".into()))
            }
            _ => {}
        }
    }
    Err(bad("no PEM private key in it".into()))
}

/// The DER of the first `ENCRYPTED PRIVATE KEY` block, which rustls' PEM reader skips.
fn encrypted_pem_block(text: &str) -> Option<Result<Vec<u8>, base64::DecodeError>> {
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    let body: String = text[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    Some(B64.decode(body))
}

/// `ssl.keystore.certificate.chain` + `ssl.keystore.key`.
pub fn pem_key_material(chain: &str, key: &str, key_password: Option<&str>) -> Result<KeyMaterial, SecurityError> {
    Ok(KeyMaterial { chain: pem_certificates("ssl.keystore.certificate.chain", chain)?, pkcs8: pem_private_key("ssl.keystore.key", key, key_password)? })
}

fn read(key: &str, path: &str) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path).map_err(|e| store_error(key, path, e))
}

/// `ssl.truststore.location` of `store_type`: its trusted certificates.
pub fn read_truststore(path: &str, store_type: StoreType, password: Option<&str>) -> Result<Vec<Vec<u8>>, SecurityError> {
    const KEY: &str = "ssl.truststore.location";
    let bytes = read(KEY, path)?;
    let certs = match store_type {
        StoreType::Pem => {
            let text = String::from_utf8(bytes).map_err(|_| store_error(KEY, path, "a PEM truststore must be text"))?;
            pem_certificates(KEY, &text).map_err(|e| store_error(KEY, path, e))?
        }
        StoreType::Jks => {
            let store = jks::parse(&bytes, password).map_err(|e| store_error(KEY, path, e))?;
            store.trusted
        }
        StoreType::Pkcs12 => {
            let password = password.ok_or_else(|| SecurityError::Missing {
                key: "ssl.truststore.password".into(),
                why: format!("the PKCS12 truststore {path} needs its password"),
            })?;
            pkcs12_certificates(&bytes, password).map_err(|e| store_error(KEY, path, e))?
        }
    };
    if certs.is_empty() {
        return Err(store_error(KEY, path, "it holds no trusted certificate"));
    }
    Ok(certs)
}

/// `ssl.keystore.location` of `store_type`: the one private key entry and its chain.
pub fn read_keystore(path: &str, store_type: StoreType, store_password: Option<&str>, key_password: Option<&str>) -> Result<KeyMaterial, SecurityError> {
    const KEY: &str = "ssl.keystore.location";
    let bytes = read(KEY, path)?;
    match store_type {
        StoreType::Pem => {
            let text = String::from_utf8(bytes).map_err(|_| store_error(KEY, path, "a PEM keystore must be text"))?;
            let chain = pem_certificates(KEY, &text).map_err(|e| store_error(KEY, path, e))?;
            Ok(KeyMaterial { chain, pkcs8: pem_private_key(KEY, &text, key_password)? })
        }
        StoreType::Jks => {
            let store = jks::parse(&bytes, store_password).map_err(|e| store_error(KEY, path, e))?;
            let mut keys = store.keys.into_iter();
            let (Some(entry), None) = (keys.next(), keys.next()) else {
                return Err(store_error(KEY, path, "a keystore must hold exactly one private key entry"));
            };
            // Java's default: the key is protected by the store's password.
            let password = key_password
                .or(store_password)
                .ok_or_else(|| SecurityError::Missing { key: "ssl.key.password".into(), why: format!("the JKS keystore {path} needs a key password") })?;
            let pkcs8 = jks::decrypt_key(&entry.protected_key, password).map_err(|e| store_error(KEY, path, e))?;
            Ok(KeyMaterial { chain: entry.chain, pkcs8 })
        }
        StoreType::Pkcs12 => {
            let password = store_password
                .ok_or_else(|| SecurityError::Missing { key: "ssl.keystore.password".into(), why: format!("the PKCS12 keystore {path} needs its password") })?;
            pkcs12_key_material(&bytes, password).map_err(|e| store_error(KEY, path, e))
        }
    }
}

fn pkcs12_store(bytes: &[u8], password: &str) -> Result<p12_keystore::KeyStore, String> {
    p12_keystore::KeyStore::from_pkcs12(bytes, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| format!("not a PKCS12 store, or the password is wrong: {e}"))
}

fn pkcs12_certificates(bytes: &[u8], password: &str) -> Result<Vec<Vec<u8>>, String> {
    let store = pkcs12_store(bytes, password)?;
    let mut certs = Vec::new();
    for (_, entry) in store.entries() {
        match entry {
            p12_keystore::KeyStoreEntry::Certificate(c) => certs.push(c.as_der().to_vec()),
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => certs.extend(chain.certs().iter().map(|c| c.as_der().to_vec())),
            _ => {}
        }
    }
    Ok(certs)
}

fn pkcs12_key_material(bytes: &[u8], password: &str) -> Result<KeyMaterial, String> {
    let store = pkcs12_store(bytes, password)?;
    let mut chains = store.entries().filter_map(|(_, e)| match e {
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => Some(chain),
        _ => None,
    });
    let (Some(chain), None) = (chains.next(), chains.next()) else {
        return Err("a keystore must hold exactly one private key entry".into());
    };
    Ok(KeyMaterial { chain: chain.certs().iter().map(|c| c.as_der().to_vec()).collect(), pkcs8: chain.key().as_der().to_vec() })
}

/// Sun's JKS format: big-endian, `0xFEEDFEED`, version 1 or 2, entries (1: private key with its
/// chain, 2: trusted certificate), then SHA-1 over the password (UTF-16BE), "Mighty Aphrodite"
/// and the body. Private keys are protected with Sun's SHA-1 keystream
/// (OID 1.3.6.1.4.1.42.2.17.1.1).
mod jks {
    use ring::digest::{digest, Context, SHA1_FOR_LEGACY_USE_ONLY as SHA1};

    pub struct KeyEntry {
        pub protected_key: Vec<u8>,
        pub chain: Vec<Vec<u8>>,
    }

    pub struct Store {
        pub keys: Vec<KeyEntry>,
        pub trusted: Vec<Vec<u8>>,
    }

    struct Reader<'a> {
        data: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
            let end = self.at.checked_add(n).filter(|&e| e <= self.data.len()).ok_or("the store is truncated")?;
            let out = &self.data[self.at..end];
            self.at = end;
            Ok(out)
        }
        fn u16(&mut self) -> Result<usize, String> {
            let b = self.take(2)?;
            Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
        }
        fn u32(&mut self) -> Result<u32, String> {
            let b = self.take(4)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn bytes(&mut self) -> Result<Vec<u8>, String> {
            let n = self.u32()? as usize;
            Ok(self.take(n)?.to_vec())
        }
        fn utf(&mut self) -> Result<(), String> {
            let n = self.u16()?;
            self.take(n).map(|_| ())
        }
        fn certificate(&mut self, version: u32) -> Result<Vec<u8>, String> {
            if version == 2 {
                self.utf()?; // the certificate type, "X.509"
            }
            self.bytes()
        }
    }

    fn utf16(password: &str) -> Vec<u8> {
        password.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    pub fn parse(data: &[u8], password: Option<&str>) -> Result<Store, String> {
        let mut r = Reader { data, at: 0 };
        if r.u32()? != 0xFEED_FEED {
            return Err("not a JKS store (set ssl.*.type to PKCS12 or PEM if it is one of those)".into());
        }
        let version = r.u32()?;
        if version != 1 && version != 2 {
            return Err(format!("JKS version {version} is not known"));
        }
        let count = r.u32()?;
        let mut store = Store { keys: Vec::new(), trusted: Vec::new() };
        for _ in 0..count {
            let tag = r.u32()?;
            r.utf()?; // alias
            r.take(8)?; // creation time
            match tag {
                1 => {
                    let protected_key = r.bytes()?;
                    let n = r.u32()?;
                    let chain = (0..n).map(|_| r.certificate(version)).collect::<Result<_, _>>()?;
                    store.keys.push(KeyEntry { protected_key, chain });
                }
                2 => store.trusted.push(r.certificate(version)?),
                3 => return Err("a secret-key (JCEKS) entry: not a JKS store".into()),
                other => return Err(format!("entry tag {other} is not known")),
            }
        }
        let body = &data[..r.at];
        let stored = r.take(20)?;
        // As Java, the integrity check needs the password; without one the store is read unchecked.
        if let Some(password) = password {
            let mut ctx = Context::new(&SHA1);
            ctx.update(&utf16(password));
            ctx.update(b"Mighty Aphrodite");
            ctx.update(body);
            if ctx.finish().as_ref() != stored {
                return Err("Keystore was tampered with, or password was incorrect".into());
            }
        }
        Ok(store)
    }

    /// Minimal DER: `(tag, contents, rest)`.
    fn tlv(data: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
        let bad = || "the protected key is not DER".to_string();
        let (&tag, rest) = data.split_first().ok_or_else(bad)?;
        let (&first, rest) = rest.split_first().ok_or_else(bad)?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad());
            }
            (rest[..n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)), &rest[n..])
        };
        if rest.len() < len {
            return Err(bad());
        }
        Ok((tag, &rest[..len], &rest[len..]))
    }

    const SUN_KEY_PROTECTOR: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];

    /// The PKCS#8 key inside a JKS `EncryptedPrivateKeyInfo`.
    pub fn decrypt_key(protected: &[u8], password: &str) -> Result<Vec<u8>, String> {
        let (_, info, _) = tlv(protected)?;
        let (_, algorithm, rest) = tlv(info)?;
        let (oid_tag, oid, _) = tlv(algorithm)?;
        if oid_tag != 0x06 || oid != SUN_KEY_PROTECTOR {
            return Err("the private key is not protected with Sun's JKS algorithm".into());
        }
        let (_, encrypted, _) = tlv(rest)?;
        if encrypted.len() < 40 {
            return Err("the protected key is too short".into());
        }
        let (salt, rest) = encrypted.split_at(20);
        let (xored, check) = rest.split_at(rest.len() - 20);
        let pw = utf16(password);
        let mut key = Vec::with_capacity(xored.len());
        let mut block = salt.to_vec();
        while key.len() < xored.len() {
            let mut ctx = Context::new(&SHA1);
            ctx.update(&pw);
            ctx.update(&block);
            block = ctx.finish().as_ref().to_vec();
            let take = (xored.len() - key.len()).min(block.len());
            key.extend(xored[key.len()..key.len() + take].iter().zip(&block).map(|(x, k)| x ^ k));
        }
        let mut verify = pw;
        verify.extend_from_slice(&key);
        if digest(&SHA1, &verify).as_ref() != check {
            return Err("Cannot recover key: the key password (ssl.key.password) is wrong".into());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_round_trip() {
        let der = vec![vec![0x30, 0x03, 0x02, 0x01, 0x05], (0..100u8).collect()];
        let text = pem("CERTIFICATE", &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(pem_certificates("k", &text).unwrap(), der);
        assert!(pem_certificates("k", "nothing").is_err());
    }

    #[test]
    fn store_types_are_kafkas() {
        assert_eq!(StoreType::parse("k", "pkcs12").unwrap(), StoreType::Pkcs12);
        assert_eq!(StoreType::parse("k", "JKS").unwrap(), StoreType::Jks);
        assert!(StoreType::parse("k", "JCEKS").unwrap_err().to_string().contains("JKS, PKCS12 and PEM"));
    }

    #[test]
    fn a_jks_store_that_is_not_one_is_named() {
        assert!(jks::parse(b"\x30\x82\x01\x00", None).is_err_and(|e| e.contains("not a JKS store")));
        assert!(jks::parse(&[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1], None).is_err_and(|e| e.contains("truncated")));
    }
}
