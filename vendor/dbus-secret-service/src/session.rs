// Copyright 2016-2024 dbus-secret-service Contributors
//
// Licensed under the Apache License, Version 2.0, <LICENSE-APACHE or
// http://apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE-MIT or
// http://opensource.org/licenses/MIT>, at your option. This file may not be
// copied, modified, or distributed except according to those terms.

// key exchange and crypto for session:
// 1. Before session negotiation (openSession), set private key and public key using DH method.
// 2. In session negotiation, send public key.
// 3. In session negotiation, exchange my public key for server's public key.
// 4. Use server public key and my private key to derive a shared AES key using HKDF.
// 5. Format Secret: aes iv is random seed, in secret struct it's the parameter (Array(Byte))
// 6. Format Secret: encode the secret value for the value field in secret struct.
//      This encoding uses the aes_key from the associated Session.

use dbus::{
    arg::{RefArg, Variant},
    blocking::{Connection, Proxy},
    Path,
};
use zeroize::ZeroizeOnDrop;

use crate::Error;

#[cfg(all(feature = "crypto-rust", feature = "crypto-openssl"))]
compile_error!("You cannot specify both feature \"crypto-rust\" and feature \"crypto-openssl\"");

/// The algorithms that can be used for encryption-in-transit.
///
/// If you are writing an ultra-secure program that accesses the secret service,
/// and you want to be sure that your secrets are encrypted while being sent to
/// or retrieved from the service, you can specify either the "crypto-rust" or
/// the "crypto-openssl" feature to this crate and tell it to use Diffie-Hellman
/// shared key encryption when passing secrets.  If you don't specify one of those
/// features, then your only choice is to use no encryption.
#[derive(Debug, Eq, PartialEq)]
pub enum EncryptionType {
    /// Use no encryption when sending/receiving secrets
    Plain,
    #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
    /// Use Diffie-Hellman shared key encryption when sending/receiving secrets
    Dh,
}

#[derive(ZeroizeOnDrop)]
pub(crate) struct EncryptedSecret {
    #[zeroize(skip)]
    path: Path<'static>, // the session path
    salt: Vec<u8>,           // the salt for the encrypted data
    data: Vec<u8>,           // the encrypted data
    pub(crate) mime: String, // the mime type of the decrypted data
}

impl EncryptedSecret {
    pub(crate) fn from_dbus(value: (Path<'static>, Vec<u8>, Vec<u8>, String)) -> Self {
        Self {
            path: value.0,
            salt: value.1,
            data: value.2,
            mime: value.3.to_string(),
        }
    }

    pub(crate) fn to_dbus(&self) -> (Path<'static>, Vec<u8>, Vec<u8>, &str) {
        (
            self.path.clone(),
            self.salt.clone(),
            self.data.clone(),
            &self.mime,
        )
    }
}

#[derive(ZeroizeOnDrop)]
pub struct Session {
    #[zeroize(skip)]
    pub(crate) path: Path<'static>,
    #[zeroize(skip)]
    encryption: EncryptionType,
    #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
    shared_key: Option<crypto::AesKey>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .field(
                "secrets",
                if self.is_encrypted() {
                    &"(Hidden)"
                } else {
                    &"None"
                },
            )
            .finish()
    }
}

impl Session {
    pub fn new(p: Proxy<'_, &'_ Connection>, encryption: EncryptionType) -> Result<Session, Error> {
        use crate::proxy::service::Service;
        match encryption {
            EncryptionType::Plain => {
                use crate::ss::ALGORITHM_PLAIN;
                // in rust 1.70, this lint applies here even though it shouldn't
                // because we need an explicit string to interpret as a RefArg
                #[allow(clippy::box_default)]
                let bytes_arg = Box::new(String::new()) as Box<dyn RefArg>;
                let (_, path) = p.open_session(ALGORITHM_PLAIN, Variant(bytes_arg))?;
                Ok(Session {
                    path,
                    encryption,
                    #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
                    shared_key: None,
                })
            }
            #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
            EncryptionType::Dh => {
                use crate::ss::ALGORITHM_DH;
                use dbus::arg::cast;

                // crypto: create private and public key
                let keypair = crypto::Keypair::generate()?;

                // send our public key with algorithm to service
                let public_bytes = keypair.public_bytes();
                let bytes_arg = Variant(Box::new(public_bytes) as Box<dyn RefArg>);
                let (out, path) = p.open_session(ALGORITHM_DH, bytes_arg)?;

                // get service public key back and create shared key from it
                if let Some(server_public_key_bytes) = cast::<Vec<u8>>(&out.0) {
                    let shared_key = keypair.derive_shared(server_public_key_bytes)?;
                    Ok(Session {
                        path,
                        encryption,
                        #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
                        shared_key: Some(shared_key),
                    })
                } else {
                    Err(Error::Parse)
                }
            }
        }
    }

    pub fn is_encrypted(&self) -> bool {
        match self.encryption {
            EncryptionType::Plain => false,
            #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
            EncryptionType::Dh => true,
        }
    }

    pub(crate) fn encrypt_secret(&self, data: &[u8], mime: &str) -> Result<EncryptedSecret, Error> {
        match self.encryption {
            EncryptionType::Plain => Ok(EncryptedSecret {
                path: self.path.clone(),
                salt: vec![],
                data: data.to_vec(),
                mime: mime.to_string(),
            }),
            #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
            EncryptionType::Dh => {
                // encrypt the secret with the data
                let (encrypted, salt) = crypto::encrypt(data, self.shared_key.as_ref().unwrap())?;
                Ok(EncryptedSecret {
                    path: self.path.clone(),
                    salt,
                    data: encrypted,
                    mime: mime.to_string(),
                })
            }
        }
    }

    pub(crate) fn decrypt_secret(&self, secret: EncryptedSecret) -> Result<Vec<u8>, Error> {
        match self.encryption {
            EncryptionType::Plain => Ok(secret.data.clone()),
            #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
            EncryptionType::Dh => {
                let clear = crypto::decrypt(
                    &secret.data,
                    self.shared_key.as_ref().unwrap(),
                    &secret.salt,
                )?;
                Ok(clear)
            }
        }
    }
}

#[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
mod crypto {
    // vouch patch: the Diffie-Hellman group arithmetic is crypto-bigint's constant-time
    // Montgomery exponentiation at a fixed 1024-bit width, and every random value (the
    // private exponent, the AES IVs) comes from the OS CSPRNG. It used to be a
    // square-and-multiply over num's BigUint (a full division per step, secret-dependent
    // timing) with fastrand (not a CSPRNG) for the private key and the IVs.
    use crypto_bigint::{
        const_monty_params,
        modular::{ConstMontyForm, ConstMontyParams},
        U1024,
    };
    use zeroize::Zeroizing;

    use crate::Error;

    #[cfg(feature = "crypto-rust")]
    pub(super) fn encrypt(data: &[u8], key: &AesKey) -> Result<(Vec<u8>, Vec<u8>), Error> {
        use aes::cipher::block_padding::Pkcs7;
        use aes::cipher::generic_array::GenericArray;
        use aes::cipher::{BlockEncryptMut, KeyIvInit};

        type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;

        // create the salt for the encryption
        let aes_iv = salt()?;

        // convert key and salt to input parameter form
        let key = GenericArray::from_slice(key);
        let iv = GenericArray::from_slice(&aes_iv);

        // return encrypted data and salt
        Ok((
            Aes128CbcEnc::new(key, iv).encrypt_padded_vec_mut::<Pkcs7>(data),
            aes_iv.to_vec(),
        ))
    }

    #[cfg(feature = "crypto-rust")]
    pub(super) fn decrypt(
        encrypted_data: &[u8],
        key: &AesKey,
        iv: &[u8],
    ) -> Result<Vec<u8>, crate::Error> {
        use aes::cipher::block_padding::Pkcs7;
        use aes::cipher::generic_array::GenericArray;
        use aes::cipher::{BlockDecryptMut, KeyIvInit};

        type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

        // vouch patch: an IV of the wrong length is a malformed reply, not a panic.
        if iv.len() != 16 {
            return Err(Error::Parse);
        }
        let key = GenericArray::from_slice(key);
        let iv = GenericArray::from_slice(iv);

        let output = Aes128CbcDec::new(key, iv).decrypt_padded_vec_mut::<Pkcs7>(encrypted_data)?;
        Ok(output)
    }

    #[cfg(all(feature = "crypto-openssl", not(feature = "crypto-rust")))]
    pub(super) fn encrypt(data: &[u8], key: &AesKey) -> Result<(Vec<u8>, Vec<u8>), Error> {
        use openssl::cipher::Cipher;
        use openssl::cipher_ctx::CipherCtx;

        // create the salt for the encryption
        let aes_iv = salt()?;

        let mut ctx = CipherCtx::new().expect("cipher creation should not fail");
        ctx.encrypt_init(Some(Cipher::aes_128_cbc()), Some(key), Some(&aes_iv))
            .expect("cipher init should not fail");

        let mut output = vec![];
        ctx.cipher_update_vec(data, &mut output)
            .expect("cipher update should not fail");
        ctx.cipher_final_vec(&mut output)
            .expect("cipher final should not fail");
        Ok((output, aes_iv.to_vec()))
    }

    #[cfg(all(feature = "crypto-openssl", not(feature = "crypto-rust")))]
    pub(super) fn decrypt(
        encrypted_data: &[u8],
        key: &AesKey,
        iv: &[u8],
    ) -> Result<Vec<u8>, crate::Error> {
        use openssl::cipher::Cipher;
        use openssl::cipher_ctx::CipherCtx;

        // vouch patch: an IV of the wrong length is a malformed reply, not a panic.
        if iv.len() != 16 {
            return Err(Error::Parse);
        }
        let mut ctx = CipherCtx::new().expect("cipher creation should not fail");
        ctx.decrypt_init(Some(Cipher::aes_128_cbc()), Some(key), Some(iv))
            .expect("cipher init should not fail");

        let mut output = vec![];
        ctx.cipher_update_vec(encrypted_data, &mut output)?;
        ctx.cipher_final_vec(&mut output)?;
        Ok(output)
    }

    /// Fill `buf` from the OS CSPRNG.
    fn random(buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|err| Error::Crypto(Box::new(err)))
    }

    /// A fresh, unpredictable AES-CBC IV.
    fn salt() -> Result<[u8; 16], Error> {
        let mut salt = [0; 16];
        random(&mut salt)?;
        Ok(salt)
    }

    // The group of dh-ietf1024-sha256-aes128-cbc-pkcs7: the Second Oakley Group
    // (RFC 2409 section 6.2), a 1024-bit safe prime p = 2q + 1, with generator 2.
    const_monty_params!(
        Oakley2,
        U1024,
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
         020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
         4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
         EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
        "The Second Oakley Group's prime (RFC 2409 section 6.2)"
    );
    type Element = ConstMontyForm<Oakley2, { U1024::LIMBS }>;
    const DH_GENERATOR: U1024 = U1024::from_u8(2);
    const DH_PRIME: U1024 = *Oakley2::PARAMS.modulus().as_ref();

    /// Bits of the private exponent (the rest of its 1024 bits are zero).
    pub(super) const PRIVATE_KEY_BITS: u32 = 256;

    pub(super) type AesKey = [u8; 16];

    pub(super) struct Keypair {
        private: Zeroizing<U1024>,
        pub(super) public: U1024,
    }

    impl Keypair {
        /// A new key pair whose private exponent comes from the OS CSPRNG.
        pub(super) fn generate() -> Result<Self, Error> {
            let mut bytes = Zeroizing::new([0u8; 128]);
            random(&mut bytes[128 - (PRIVATE_KEY_BITS as usize / 8)..])?;
            Ok(Self::from_private(U1024::from_be_slice(&*bytes)))
        }

        fn from_private(private: U1024) -> Self {
            let public = pow_mod_p(&DH_GENERATOR, &private);
            Self {
                private: Zeroizing::new(private),
                public,
            }
        }

        /// Our public key, big-endian, 128 bytes.
        pub(super) fn public_bytes(&self) -> Vec<u8> {
            self.public.to_be_bytes().to_vec()
        }

        /// The AES key shared with the holder of `server_public_key_bytes`: HKDF-SHA256
        /// (no salt, no info) of the shared secret as 128 big-endian bytes.
        pub(super) fn derive_shared(
            &self,
            server_public_key_bytes: &[u8],
        ) -> Result<AesKey, Error> {
            let server_public_key =
                parse_public_key(server_public_key_bytes).ok_or(Error::Parse)?;
            let common_secret = Zeroizing::new(pow_mod_p(&server_public_key, &self.private));
            let ikm = Zeroizing::new(common_secret.to_be_bytes());
            let mut okm = [0; 16];
            hkdf(&ikm, None, &mut okm);
            Ok(okm)
        }
    }

    /// A peer's public key, if it is a group element other than the degenerate 0, 1 and
    /// p - 1 (which would make the shared secret predictable).
    fn parse_public_key(bytes: &[u8]) -> Option<U1024> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let bytes = &bytes[start..];
        if bytes.len() > 128 {
            return None;
        }
        let mut padded = [0u8; 128];
        padded[128 - bytes.len()..].copy_from_slice(bytes);
        let key = U1024::from_be_slice(&padded);
        let p_minus_1 = DH_PRIME.wrapping_sub(&U1024::ONE);
        (key > U1024::ONE && key < p_minus_1).then_some(key)
    }

    /// `base ^ exponent mod p`, in time that depends on neither value (the exponent's
    /// bits above PRIVATE_KEY_BITS must be zero).
    pub(super) fn pow_mod_p(base: &U1024, exponent: &U1024) -> U1024 {
        Element::new(base)
            .pow_bounded_exp(exponent, PRIVATE_KEY_BITS)
            .retrieve()
    }

    #[cfg(all(feature = "crypto-openssl", not(feature = "crypto-rust")))]
    pub(super) fn hkdf(ikm: &[u8], salt: Option<&[u8]>, okm: &mut [u8]) {
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new_id(openssl::pkey::Id::HKDF)
            .expect("hkdf context should not fail");
        ctx.derive_init().expect("hkdf derive init should not fail");
        ctx.set_hkdf_md(openssl::md::Md::sha256())
            .expect("hkdf set md should not fail");

        ctx.set_hkdf_key(ikm).expect("hkdf set key should not fail");
        if let Some(salt) = salt {
            ctx.set_hkdf_salt(salt)
                .expect("hkdf set salt should not fail");
        }

        ctx.add_hkdf_info(&[]).unwrap();
        ctx.derive(Some(okm))
            .expect("hkdf expand should never fail");
    }

    #[cfg(feature = "crypto-rust")]
    pub(super) fn hkdf(ikm: &[u8], salt: Option<&[u8]>, okm: &mut [u8]) {
        use sha2::Sha256;

        let info = [];
        let (_, hk) = hkdf::Hkdf::<Sha256>::extract(salt, ikm);
        hk.expand(&info, okm)
            .expect("hkdf expand should never fail");
    }

    // vouch patch: known answers computed independently (Python's pow() and an HMAC-based
    // HKDF-SHA256, RFC 5869), and the checks the old code failed (degenerate keys, IVs).
    #[cfg(test)]
    mod test {
        use super::*;

        fn uint(hex: &str) -> U1024 {
            let mut padded = [b'0'; 256];
            padded[256 - hex.len()..].copy_from_slice(hex.as_bytes());
            U1024::from_be_hex(std::str::from_utf8(&padded).unwrap())
        }

        const A_PRIVATE: &str = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
        const B_PRIVATE: &str = "b3eacd33433b31b5252351032c9b3e7a2e7aa7738d5decdf0dd6c62680853c06";
        const A_PUBLIC: &str = "457120764f3a1e6fd58103e41a4093a6c8bc1d97cb8759de41c21afdd2d3048a\
            5ef3d88ce24aa6ba4fe30bcfb0b0f75abf1a8aeaff3723f1bf53740c902005e1\
            199fabad7c538e94a7034fd585339a02f3634893f748929d2a7257643e398130\
            541ae64124c17d4507a97f1cbebeb7b933642b8df479eb59e36cfeffbf1671dd";
        const B_PUBLIC: &str = "37ccc3d8a34e59ff7ea162da3bcdca56d7618ccf2ccc250ee4ed6c1548f7450f\
            529e90c2d0851fb0b69b0ff7fe2e6c9058d47640afa4cfed10e0a45843f1ae70\
            ab3bf8d1652048e2f04a113246a0681d5a491f9c09aa55c6570197056676a6a1\
            eb4d653809726b26e96a7e6dd4f7f50cc024de34845651b7ae7f173eb06ddf24";
        const SHARED: &str = "dc103b045288d2041c68387032f838b15cdbe8fd4969a7b97fc3fae6399d4a86\
            56cfc3ced51944134e46eea86c6cdea8d445c1c868a19647d55ce6ccd9a05123\
            c1ce5ddf7f6d5ded0df6e60762da721c1bfbc69e7ff67c09120e906f0e2cb525\
            5ab17bede5640b3b43a303a0ffd09985870e9180521d68e1056066ab028ea883";
        const AES_KEY: [u8; 16] = [
            0xcc, 0xf8, 0xfe, 0x2d, 0x1f, 0x44, 0xfe, 0xce, 0x35, 0xb5, 0xb8, 0x62, 0x8c, 0x65,
            0x40, 0x6a,
        ];

        #[test]
        fn modexp_matches_known_answers() {
            assert_eq!(pow_mod_p(&DH_GENERATOR, &uint(A_PRIVATE)), uint(A_PUBLIC));
            assert_eq!(pow_mod_p(&DH_GENERATOR, &uint(B_PRIVATE)), uint(B_PUBLIC));
            assert_eq!(pow_mod_p(&uint(B_PUBLIC), &uint(A_PRIVATE)), uint(SHARED));
            assert_eq!(pow_mod_p(&uint(A_PUBLIC), &uint(B_PRIVATE)), uint(SHARED));
            assert_eq!(pow_mod_p(&uint(A_PUBLIC), &U1024::ZERO), U1024::ONE);
            assert_eq!(pow_mod_p(&uint(A_PUBLIC), &U1024::ONE), uint(A_PUBLIC));
        }

        #[test]
        fn session_key_matches_a_reference_computation() {
            let a = Keypair::from_private(uint(A_PRIVATE));
            let b = Keypair::from_private(uint(B_PRIVATE));
            assert_eq!(a.public_bytes(), uint(A_PUBLIC).to_be_bytes().to_vec());
            assert_eq!(a.derive_shared(&b.public_bytes()).unwrap(), AES_KEY);
            assert_eq!(b.derive_shared(&a.public_bytes()).unwrap(), AES_KEY);
            // A peer may send its key without leading zero bytes, or with extra ones.
            let mut padded = vec![0; 3];
            padded.extend(b.public_bytes());
            assert_eq!(a.derive_shared(&padded).unwrap(), AES_KEY);
        }

        #[test]
        fn generated_keys_are_random_short_exponents_that_agree() {
            let a = Keypair::generate().unwrap();
            let b = Keypair::generate().unwrap();
            assert_ne!(*a.private, *b.private);
            assert_ne!(*a.private, U1024::ZERO);
            assert!(a.private.bit_width() <= PRIVATE_KEY_BITS);
            assert_eq!(a.public, pow_mod_p(&DH_GENERATOR, &a.private));
            assert_eq!(
                a.derive_shared(&b.public_bytes()).unwrap(),
                b.derive_shared(&a.public_bytes()).unwrap()
            );
        }

        #[test]
        fn degenerate_or_oversized_peer_keys_are_refused() {
            let a = Keypair::from_private(uint(A_PRIVATE));
            let p = DH_PRIME.to_be_bytes().to_vec();
            let p_minus_1 = DH_PRIME.wrapping_sub(&U1024::ONE).to_be_bytes().to_vec();
            for bad in [
                vec![],
                vec![0],
                vec![1],
                vec![0, 0, 1],
                p_minus_1,
                p,
                vec![0xff; 129],
            ] {
                assert!(
                    matches!(a.derive_shared(&bad), Err(Error::Parse)),
                    "accepted {bad:02x?}"
                );
            }
            assert!(a.derive_shared(&[2]).is_ok());
        }

        #[test]
        fn encryption_round_trips_with_fresh_ivs_and_refuses_bad_ivs() {
            let (c1, iv1) = encrypt(b"secret", &AES_KEY).unwrap();
            let (c2, iv2) = encrypt(b"secret", &AES_KEY).unwrap();
            assert_ne!(iv1, iv2);
            assert_ne!(c1, c2);
            assert_eq!(decrypt(&c1, &AES_KEY, &iv1).unwrap(), b"secret");
            assert!(matches!(
                decrypt(&c1, &AES_KEY, &iv1[..15]),
                Err(Error::Parse)
            ));
        }
    }
}

#[cfg(test)]
mod test {
    use dbus::blocking::Connection;

    use crate::proxy::new_proxy;
    use crate::ss::SS_DBUS_PATH;

    use super::*;

    #[test]
    fn should_create_plain_session() {
        let connection = Connection::new_session().unwrap();
        let proxy = new_proxy(&connection, SS_DBUS_PATH);
        let session = Session::new(proxy, EncryptionType::Plain).unwrap();
        assert!(!session.is_encrypted());
    }

    #[cfg(any(feature = "crypto-rust", feature = "crypto-openssl"))]
    #[test]
    fn should_create_encrypted_session() {
        let connection = Connection::new_session().unwrap();
        let proxy = new_proxy(&connection, SS_DBUS_PATH);
        let session = Session::new(proxy, EncryptionType::Dh).unwrap();
        assert!(session.is_encrypted());
    }
}
