//! DPoP (RFC 9449): the key pair that binds a profile's tokens to this machine, and the
//! proofs that show the provider and APIs that the sender holds it.
//!
//! A DPoP key is an ES256 (P-256) key pair made at `vouch login --dpop`. Its private half is a
//! [`DpopKey`] secret: it lives only in the profile's record in the credential store (never
//! in a file or the config), and leaves this module only as a signature. What may be shown is
//! its public JWK and the JWK's RFC 7638 thumbprint (`jkt`), which the provider writes into
//! the token's `cnf.jkt` claim.
//!
//! A proof is a JWT signed with the key: header `typ: dpop+jwt`, `alg: ES256`, `jwk`; claims
//! `htm` (the method), `htu` (the URL without query and fragment), `iat`, a random `jti`, the
//! server's `nonce` when it asked for one, and `ath` (the base64url SHA-256 of the access
//! token) when it goes with one. A proof is made for one request and is itself treated as a
//! secret: it is never logged.
//!
//! This module knows no HTTP and no store: callers send the proof ([`crate::oauth::Client`]
//! for the token endpoint, [`crate::http`] for resource requests) and keep the key.

use crate::error::Error;
use crate::secret::DpopKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};
use url::Url;
use zeroize::Zeroizing;

/// The only signing algorithm vouch uses for proofs.
pub const ALG: &str = "ES256";

/// A P-256 public key as a JWK (RFC 7518 §6.2.1): safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
}

impl PublicJwk {
    /// The JWK as JSON, members in lexicographic order (RFC 7638 §3.2).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"crv": "P-256", "kty": "EC", "x": self.x, "y": self.y})
    }

    /// The RFC 7638 thumbprint: base64url(SHA-256) of the required members, in lexicographic
    /// order, without whitespace. This is the `jkt` a provider binds tokens to.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, self.x, self.y);
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }
}

impl DpopKey {
    /// A new key pair from the operating system's randomness.
    pub fn generate() -> Result<DpopKey, Error> {
        // A random 256-bit string is a valid P-256 scalar with overwhelming probability; the
        // loop takes the rare one that is not (zero, or not below the group order).
        for _ in 0..16 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut_slice())
                .map_err(|_| Error::internal("the operating system gave no randomness"))?;
            if SigningKey::from_slice(bytes.as_slice()).is_ok() {
                return Ok(DpopKey::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())));
            }
        }
        Err(Error::internal("could not make a DPoP key"))
    }

    fn signing_key(&self) -> Result<SigningKey, Error> {
        let unreadable = || Error::internal("the stored DPoP key is not a P-256 private key");
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(self.expose_secret()).map_err(|_| unreadable())?);
        SigningKey::from_slice(&bytes).map_err(|_| unreadable())
    }

    /// The public half, as a JWK.
    pub fn public_jwk(&self) -> Result<PublicJwk, Error> {
        let point = self.signing_key()?.verifying_key().to_encoded_point(false);
        match (point.x(), point.y()) {
            (Some(x), Some(y)) => {
                Ok(PublicJwk { x: URL_SAFE_NO_PAD.encode(x), y: URL_SAFE_NO_PAD.encode(y) })
            }
            _ => Err(Error::internal("the DPoP public key has no coordinates")),
        }
    }

    /// The key's RFC 7638 thumbprint (`jkt`).
    pub fn thumbprint(&self) -> Result<String, Error> {
        Ok(self.public_jwk()?.thumbprint())
    }

    /// A proof for one request (RFC 9449 §4.2). `access_token` is the token the request
    /// carries (a resource request), `None` for the token endpoint.
    pub fn proof(&self, request: &ProofRequest<'_>) -> Result<Zeroizing<String>, Error> {
        let key = self.signing_key()?;
        let jwk = self.public_jwk()?;
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": ALG, "jwk": jwk.to_json()});
        let mut claims = serde_json::json!({
            "htm": request.method,
            "htu": htu(request.url),
            "iat": request.now,
            "jti": crate::oauth::random_token(16)?,
        });
        if let Some(nonce) = request.nonce {
            claims["nonce"] = serde_json::Value::from(nonce);
        }
        if let Some(token) = request.access_token {
            claims["ath"] = serde_json::Value::from(ath(token.expose_secret()));
        }
        let signing_input = Zeroizing::new(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ));
        let signature: Signature = key.sign(signing_input.as_bytes());
        Ok(Zeroizing::new(format!(
            "{}.{}",
            signing_input.as_str(),
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )))
    }
}

/// What a proof is for.
pub struct ProofRequest<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// Unix seconds now.
    pub now: u64,
    /// The server's latest `DPoP-Nonce`, when it gave one.
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a crate::secret::AccessToken>,
}

/// The `htu` claim: the URL without query and fragment (RFC 9449 §4.2).
pub fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The `ath` claim: base64url(SHA-256(access token)).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Whether a challenge or error answer asks for a DPoP nonce: the token endpoint's
/// `{"error":"use_dpop_nonce"}` (RFC 9449 §8) or a resource server's
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"` (§9).
pub fn asks_for_nonce(body: &[u8], www_authenticate: Option<&str>) -> bool {
    let in_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("error").and_then(|e| e.as_str()) == Some("use_dpop_nonce"));
    in_body || www_authenticate.is_some_and(|h| h.contains("use_dpop_nonce"))
}

/// Refuse to hand a DPoP-bound profile's token to `via` (git, kubectl, cargo, `exec`, `token`):
/// those programs send it as a Bearer token, without proofs, and the server refuses it. The
/// one message, exit 2, names `vouch api`.
pub fn bound_elsewhere(profile: &str, via: &str) -> Error {
    Error::usage(format!(
        "'{profile}' is bound to this machine with DPoP, and {via} cannot send the proof its tokens need; \
         call the API with `vouch api {profile} URL`, or sign in again without --dpop (set dpop = false in \
         the profile) to use it with {via}"
    ))
}

/// Whether `profile`'s tokens are DPoP-bound, by its setting or its stored record.
pub fn is_bound(profile: &crate::config::Profile, record: Option<&crate::record::Record>) -> bool {
    profile.dpop == Some(true) || record.is_some_and(|r| r.dpop_key.is_some())
}

/// The DPoP nonces servers asked for, kept across processes: one small file per origin,
/// `dpop-nonce-<sha256 of the origin>`, beside the metadata cache. A nonce is no secret (the
/// server sends it to anyone) and is only ever a hint: a stale one costs one retry. A file
/// that is not this user's private file, or names another origin, is ignored.
pub struct NonceFile;

impl NonceFile {
    fn name(url: &Url) -> String {
        let digest = Sha256::digest(crate::http::origin(url).as_bytes());
        format!("dpop-nonce-{}", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// The nonce kept for `url`'s origin.
    pub fn read(dir: &std::path::Path, url: &Url) -> Option<String> {
        let bytes = crate::paths::read_private_file(&dir.join(Self::name(url)), 4096).ok()??;
        let text = String::from_utf8(bytes).ok()?;
        let (origin, nonce) = text.split_once('\n')?;
        let nonce = nonce.trim_end();
        (origin == crate::http::origin(url)
            && !nonce.is_empty()
            && nonce.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| nonce.to_string())
    }

    /// Keep `nonce` for `url`'s origin (best effort: a nonce that is not kept costs a retry).
    pub fn write(dir: &std::path::Path, url: &Url, nonce: &str) {
        let text = format!("{}\n{nonce}\n", crate::http::origin(url));
        let _ = crate::paths::write_private_file(dir, &Self::name(url), text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_verifies_against_its_own_jwk_and_says_what_it_is_for() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://api.example/v1/items?page=2#top").unwrap();
        let token = AccessToken::new("at-canary");
        let proof = key
            .proof(&ProofRequest {
                method: "GET",
                url: &url,
                now: 1_700_000_000,
                nonce: Some("n-1"),
                access_token: Some(&token),
            })
            .unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none(), "the private key must not be in the proof");
        let claims = decode(parts[1]);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example/v1/items");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(Sha256::digest(b"at-canary")));
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        assert!(!proof.contains("at-canary"));

        // Verify with p256 against the jwk in the header.
        let x = URL_SAFE_NO_PAD.decode(header["jwk"]["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(header["jwk"]["y"].as_str().unwrap()).unwrap();
        let point = p256::EncodedPoint::from_affine_coordinates(
            p256::FieldBytes::from_slice(&x),
            p256::FieldBytes::from_slice(&y),
            false,
        );
        let verifier = VerifyingKey::from_encoded_point(&point).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(verifier.verify(input.as_bytes(), &signature).is_ok());
        assert!(verifier.verify(b"something else", &signature).is_err());
        let other = DpopKey::generate().unwrap().public_jwk().unwrap();
        assert_ne!(other, key.public_jwk().unwrap(), "every login makes a new key");
    }

    #[test]
    fn two_proofs_never_share_a_jti_and_the_token_endpoint_gets_no_ath() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://id.example/token").unwrap();
        let request = ProofRequest { method: "POST", url: &url, now: 1, nonce: None, access_token: None };
        let claims = |p: &str| decode(p.split('.').nth(1).unwrap());
        let (a, b) = (claims(&key.proof(&request).unwrap()), claims(&key.proof(&request).unwrap()));
        assert_ne!(a["jti"], b["jti"]);
        assert!(a.get("ath").is_none() && a.get("nonce").is_none());
    }

    #[test]
    fn the_thumbprint_follows_rfc_7638() {
        // RFC 7638 §3.1 hashes the required members in lexicographic order with no
        // whitespace; for EC keys (RFC 7638 §3.2) those are crv, kty, x, y.
        let jwk = PublicJwk { x: "AAAA".into(), y: "BBBB".into() };
        let expected =
            URL_SAFE_NO_PAD.encode(Sha256::digest(br#"{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}"#));
        assert_eq!(jwk.thumbprint(), expected);
        // The JSON member order and a serde round trip produce the same canonical text.
        assert_eq!(jwk.to_json().to_string(), r#"{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}"#);
        // A real key: 43 base64url characters (32 bytes), stable for the same key.
        let key = DpopKey::generate().unwrap();
        let jkt = key.thumbprint().unwrap();
        assert_eq!(jkt.len(), 43);
        assert_eq!(jkt, key.thumbprint().unwrap());
    }

    #[test]
    fn the_key_debug_is_redacted_and_garbage_is_refused() {
        let key = DpopKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose_secret()), "{shown}");
        assert!(DpopKey::new("not base64 !").public_jwk().is_err());
        assert!(DpopKey::new(URL_SAFE_NO_PAD.encode([0u8; 32])).public_jwk().is_err(), "zero is no key");
    }

    #[test]
    fn nonce_challenges_are_recognised() {
        assert!(asks_for_nonce(br#"{"error":"use_dpop_nonce"}"#, None));
        assert!(asks_for_nonce(b"", Some(r#"DPoP error="use_dpop_nonce", algs="ES256""#)));
        assert!(!asks_for_nonce(br#"{"error":"invalid_grant"}"#, Some("Bearer")));
    }
}
