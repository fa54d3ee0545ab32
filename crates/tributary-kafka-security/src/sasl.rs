//! SASL client mechanisms for connections this worker speaks the Kafka protocol on itself (the
//! group membership connection; librdkafka authenticates its own clients): PLAIN (RFC 4616)
//! and SCRAM-SHA-256/512 (RFC 5802, as Kafka's `ScramSaslClient`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use std::num::NonZeroU32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramAlgorithm {
    Sha256,
    Sha512,
}

impl ScramAlgorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }
    fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("the broker's SCRAM message is malformed: {0}")]
    Malformed(String),
    #[error("the broker refused the SCRAM exchange: {0}")]
    ServerError(String),
    #[error("the broker's SCRAM signature does not match: it does not know this password (or is not the broker it claims to be)")]
    BadServerSignature,
    #[error("no random numbers for the SCRAM nonce")]
    Random,
}

/// The single PLAIN message: `authzid NUL authcid NUL password`, authzid empty.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

/// A SCRAM client exchange: [`ScramClient::first`], then [`ScramClient::answer`] with the
/// server's first message, then [`ScramClient::verify`] with its final one.
pub struct ScramClient {
    algorithm: ScramAlgorithm,
    password: String,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

/// RFC 5802 `saslname`: `=` and `,` escaped.
fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

impl ScramClient {
    pub fn new(algorithm: ScramAlgorithm, username: &str, password: &str) -> Result<Self, SaslError> {
        let mut raw = [0u8; 24];
        ring::rand::SystemRandom::new().fill(&mut raw).map_err(|_| SaslError::Random)?;
        Ok(Self::with_nonce(algorithm, username, password, &B64.encode(raw)))
    }

    fn with_nonce(algorithm: ScramAlgorithm, username: &str, password: &str, nonce: &str) -> Self {
        let client_first_bare = format!("n={},r={nonce}", sasl_name(username));
        Self { algorithm, password: password.to_owned(), client_first_bare, nonce: nonce.to_owned(), server_signature: None }
    }

    /// `client-first-message`, with no channel binding and no authorization id.
    pub fn first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// `client-final-message` for the server's first message.
    pub fn answer(&mut self, server_first: &[u8]) -> Result<Vec<u8>, SaslError> {
        let server_first = std::str::from_utf8(server_first).map_err(|_| SaslError::Malformed("not UTF-8".into()))?;
        if let Some(e) = server_first.strip_prefix("e=") {
            return Err(SaslError::ServerError(e.to_owned()));
        }
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(B64.decode(v).map_err(|_| SaslError::Malformed("salt is not base64".into()))?),
                Some(("i", v)) => iterations = Some(v.parse::<u32>().map_err(|_| SaslError::Malformed(format!("iteration count {v:?}")))?),
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| SaslError::Malformed("no nonce".into()))?;
        let salt = salt.ok_or_else(|| SaslError::Malformed("no salt".into()))?;
        let iterations = iterations.and_then(NonZeroU32::new).ok_or_else(|| SaslError::Malformed("no iteration count".into()))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(SaslError::Malformed("the server nonce does not extend the client nonce".into()));
        }
        let a = self.algorithm;
        let mut salted = vec![0u8; a.len()];
        pbkdf2::derive(a.pbkdf2(), iterations, &salt, self.password.as_bytes(), &mut salted);
        let salted_key = hmac::Key::new(a.hmac(), &salted);
        let client_key = hmac::sign(&salted_key, b"Client Key");
        let stored_key = digest::digest(a.digest(), client_key.as_ref());
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac::sign(&hmac::Key::new(a.hmac(), stored_key.as_ref()), auth_message.as_bytes());
        let proof: Vec<u8> = client_key.as_ref().iter().zip(client_signature.as_ref()).map(|(k, s)| k ^ s).collect();
        let server_key = hmac::sign(&salted_key, b"Server Key");
        self.server_signature = Some(hmac::sign(&hmac::Key::new(a.hmac(), server_key.as_ref()), auth_message.as_bytes()).as_ref().to_vec());
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message (`v=<signature>`), so the broker proved it knows the
    /// password too.
    pub fn verify(&self, server_final: &[u8]) -> Result<(), SaslError> {
        let text = std::str::from_utf8(server_final).map_err(|_| SaslError::Malformed("not UTF-8".into()))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(SaslError::ServerError(e.to_owned()));
        }
        let v = text.split(',').find_map(|a| a.strip_prefix("v=")).ok_or_else(|| SaslError::Malformed("no server signature".into()))?;
        let got = B64.decode(v).map_err(|_| SaslError::Malformed("server signature is not base64".into()))?;
        match &self.server_signature {
            Some(want) if *want == got => Ok(()),
            _ => Err(SaslError::BadServerSignature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7677_scram_sha_256_example() {
        // RFC 7677 section 3: user "user", password "pencil".
        let mut c = ScramClient::with_nonce(ScramAlgorithm::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let answer = c.answer(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").unwrap();
        assert_eq!(answer, b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".to_vec());
        c.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert_eq!(c.verify(b"v=AAAA"), Err(SaslError::BadServerSignature));
    }

    #[test]
    fn server_errors_and_bad_nonces_are_refused() {
        let mut c = ScramClient::with_nonce(ScramAlgorithm::Sha512, "a,b=c", "p", "abc");
        assert_eq!(c.first(), b"n,,n=a=2Cb=3Dc,r=abc");
        assert_eq!(c.answer(b"e=unknown-user"), Err(SaslError::ServerError("unknown-user".into())));
        assert!(matches!(c.answer(b"r=xyz,s=AAAA,i=4096"), Err(SaslError::Malformed(_))));
        assert!(matches!(c.answer(b"r=abc,s=AAAA,i=4096"), Err(SaslError::Malformed(_))));
        assert!(matches!(c.answer(b"r=abcd,s=AAAA,i=0"), Err(SaslError::Malformed(_))));
        assert_eq!(plain_message("u", "p"), b"\0u\0p");
    }
}
