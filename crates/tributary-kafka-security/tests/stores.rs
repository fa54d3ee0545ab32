//! The stores `scripts/kafka.sh` makes with openssl and Java 17's keytool (the directory is
//! `TRIBUTARY_TEST_SECURITY_DIR`, which `scripts/test.sh` sets): every format yields the same
//! key and certificates.

use std::collections::BTreeMap;
use tributary_kafka_security::keystore::{pem_certificates, pem_key_material, read_keystore, read_truststore, StoreType};
use tributary_kafka_security::ClientSecurity;

fn dir() -> std::path::PathBuf {
    std::env::var("TRIBUTARY_TEST_SECURITY_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| panic!("TRIBUTARY_TEST_SECURITY_DIR is not set: run scripts/test.sh (scripts/kafka.sh makes the stores)"))
}

fn path(file: &str) -> String {
    dir().join(file).display().to_string()
}

fn text(file: &str) -> String {
    std::fs::read_to_string(dir().join(file)).unwrap()
}

#[test]
fn jks_pkcs12_and_pem_stores_hold_the_same_key_and_certificates() {
    let ca = pem_certificates("ca", &text("ca.pem")).unwrap();
    assert_eq!(read_truststore(&path("truststore.jks"), StoreType::Jks, Some("storepass")).unwrap(), ca);
    assert_eq!(read_truststore(&path("truststore.jks"), StoreType::Jks, None).unwrap(), ca, "a JKS truststore reads without its password, as in Java");
    assert_eq!(read_truststore(&path("truststore.p12"), StoreType::Pkcs12, Some("storepass")).unwrap(), ca);
    assert_eq!(read_truststore(&path("ca.pem"), StoreType::Pem, None).unwrap(), ca);

    let pem = pem_key_material(&text("client-alice.pem"), &text("client-alice.key"), None).unwrap();
    let encrypted = pem_key_material(&text("client-alice.pem"), &text("client-alice-encrypted.key"), Some("keypass")).unwrap();
    let p12 = read_keystore(&path("client-alice.p12"), StoreType::Pkcs12, Some("storepass"), Some("storepass")).unwrap();
    let jks = read_keystore(&path("client-alice.jks"), StoreType::Jks, Some("storepass"), Some("keypass")).unwrap();
    assert!(pem.pkcs8 == encrypted.pkcs8 && pem.pkcs8 == p12.pkcs8 && pem.pkcs8 == jks.pkcs8, "every store holds alice's key");
    assert_eq!(p12.chain[0], pem.chain[0]);
    assert_eq!(jks.chain[0], pem.chain[0]);
}

#[test]
fn wrong_passwords_are_named() {
    let e = read_truststore(&path("truststore.jks"), StoreType::Jks, Some("nope")).unwrap_err().to_string();
    assert!(e.contains("ssl.truststore.location") && e.contains("password was incorrect"), "{e}");
    let e = read_keystore(&path("client-alice.jks"), StoreType::Jks, Some("storepass"), Some("nope")).unwrap_err().to_string();
    assert!(e.contains("ssl.key.password"), "{e}");
    let e = read_keystore(&path("client-alice.p12"), StoreType::Pkcs12, Some("nope"), None).unwrap_err().to_string();
    assert!(e.contains("ssl.keystore.location") && e.contains("password"), "{e}");
    let e = pem_key_material(&text("client-alice.pem"), &text("client-alice-encrypted.key"), Some("nope")).unwrap_err().to_string();
    assert!(e.contains("ssl.key.password"), "{e}");
    let e = read_truststore(&path("truststore.p12"), StoreType::Jks, None).unwrap_err().to_string();
    assert!(e.contains("not a JKS store"), "{e}");
}

#[test]
fn a_jks_keystore_becomes_librdkafka_pem() {
    let keys: BTreeMap<String, String> = [
        ("security.protocol", "SSL".to_owned()),
        ("ssl.truststore.location", path("truststore.jks")),
        ("ssl.truststore.password", "storepass".to_owned()),
        ("ssl.keystore.location", path("client-alice.jks")),
        ("ssl.keystore.password", "storepass".to_owned()),
        ("ssl.key.password", "keypass".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let s = ClientSecurity::from_config(&keys).unwrap();
    let set: BTreeMap<&str, &str> = s.librdkafka_settings().collect();
    assert!(set["ssl.ca.pem"].starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(set["ssl.certificate.pem"].starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(set["ssl.key.pem"].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(!set.contains_key("ssl.key.password") && !set.contains_key("ssl.keystore.location"));
    assert!(!format!("{s:?}").contains("PRIVATE KEY"), "the key stays out of Debug");
    tributary_kafka_security::tls::client_config(s.tls.as_ref().unwrap()).unwrap();
}
