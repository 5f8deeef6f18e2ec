//! Which certificate authorities the Lightsail client trusts.
//!
//! Every Lightsail endpoint presents a certificate issued by Amazon Trust Services (ATS).
//! By default the function trusts exactly the five roots ATS asks custom trust stores to
//! carry (Amazon Root CA 1–4 and Starfield Services Root CA G2,
//! <https://www.amazontrust.com/repository/>), compiled into the binary. Two reasons:
//!
//! - **Narrower trust.** The function changes firewalls. With the platform's store, any of
//!   its ~150 public CAs could issue a certificate that lets someone answer for
//!   `lightsail.<region>.amazonaws.com`; with these five, only ATS can.
//! - **Cold start.** Reading and parsing the platform's store at init cost about 5 ms of
//!   an 8 ms cold start (BENCHMARKS.md); five compiled-in roots cost nothing measurable.
//!
//! `JIT_TLS_ROOTS=system` trusts the platform's store instead, for a TLS-inspecting proxy
//! or an endpoint (`AWS_ENDPOINT_URL_LIGHTSAIL`) whose certificate comes from another CA.

/// The five ATS roots, PEM. The test below checks each against the SHA-256 of its
/// public key as published by ATS.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("amazon-trust-services.pem");

/// The environment variable that chooses the trust store.
pub const TRUST_ROOTS_ENV: &str = "JIT_TLS_ROOTS";

/// The values of `JIT_TLS_ROOTS`, written once in the `strum` attributes.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
pub enum TrustRoots {
    /// The five Amazon Trust Services roots compiled into the binary.
    #[default]
    #[strum(serialize = "amazon")]
    AmazonTrustServices,
    /// The platform's store, as `rustls-native-certs` finds it, including
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`.
    #[strum(serialize = "system")]
    System,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{TRUST_ROOTS_ENV} must be \"amazon\" or \"system\", not {0:?}")]
pub struct TrustRootsError(pub String);

impl TrustRoots {
    /// `amazon` or `system`; unset or empty means the default, `amazon`.
    pub fn parse(value: Option<&str>) -> Result<TrustRoots, TrustRootsError> {
        match value.map(str::trim) {
            None | Some("") => Ok(TrustRoots::default()),
            Some(text) => <TrustRoots as strum::VariantArray>::VARIANTS
                .iter()
                .find(|roots| <&str>::from(**roots) == text)
                .copied()
                .ok_or_else(|| TrustRootsError(text.to_string())),
        }
    }

    /// Reads `JIT_TLS_ROOTS`. A value that is not Unicode is rejected like any other.
    pub fn from_env() -> Result<TrustRoots, TrustRootsError> {
        match std::env::var(TRUST_ROOTS_ENV) {
            Ok(value) => TrustRoots::parse(Some(&value)),
            Err(std::env::VarError::NotPresent) => TrustRoots::parse(None),
            Err(std::env::VarError::NotUnicode(raw)) => {
                Err(TrustRootsError(raw.to_string_lossy().into_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_empty_means_amazon_and_the_two_names_parse() {
        assert_eq!(TrustRoots::parse(None), Ok(TrustRoots::AmazonTrustServices));
        assert_eq!(
            TrustRoots::parse(Some(" ")),
            Ok(TrustRoots::AmazonTrustServices)
        );
        assert_eq!(
            TrustRoots::parse(Some("amazon")),
            Ok(TrustRoots::AmazonTrustServices)
        );
        assert_eq!(TrustRoots::parse(Some("system")), Ok(TrustRoots::System));
        for name in [TrustRoots::AmazonTrustServices, TrustRoots::System] {
            assert_eq!(TrustRoots::parse(Some(&name.to_string())), Ok(name));
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_variable() {
        let err = TrustRoots::parse(Some("System")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "JIT_TLS_ROOTS must be \"amazon\" or \"system\", not \"System\""
        );
        assert!(TrustRoots::parse(Some("none")).is_err());
        assert!(TrustRoots::parse(Some("/etc/ssl/cert.pem")).is_err());
    }

    #[cfg(feature = "aws")]
    #[test]
    fn the_bundle_is_exactly_the_five_roots_ats_publishes() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        // SHA-256 of each root's SubjectPublicKeyInfo, from the ATS repository page.
        let published = [
            "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2", // Amazon Root CA 1
            "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461", // Amazon Root CA 2
            "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9", // Amazon Root CA 3
            "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5", // Amazon Root CA 4
            "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92", // Starfield Services G2
        ];
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let mut store = rustls::RootCertStore::empty();
        for cert in certs {
            store.add(cert).unwrap();
        }
        let hashes: Vec<String> = store
            .roots
            .iter()
            .map(|anchor| hex_sha256(&der_sequence(&anchor.subject_public_key_info)))
            .collect();
        assert_eq!(hashes, published);
    }

    /// The anchor holds the SubjectPublicKeyInfo's contents; ATS hashes the whole
    /// SEQUENCE, so put its tag and length back.
    #[cfg(feature = "aws")]
    fn der_sequence(contents: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30];
        let len = contents.len();
        match len {
            0..=0x7f => out.push(len as u8),
            0x80..=0xff => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    #[cfg(feature = "aws")]
    fn hex_sha256(bytes: &[u8]) -> String {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
