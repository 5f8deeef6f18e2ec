//! The HTTPS client's trust store, end to end on loopback. The SDK (through our
//! `https_client`) talks TLS to a relay in front of the HTTP simulator; the relay's
//! certificate comes from a test CA that no real trust store holds
//! (`tests/fixtures/tls`, whose CA key was thrown away).
//!
//! - With the default roots (`amazon`), the client refuses the certificate and nothing
//!   reaches the simulator.
//! - With `system` roots and `SSL_CERT_FILE` naming the test CA, the same call succeeds.
//!   That control shows the refusal is the trust store's doing, not a broken relay.
//!
//! One test function: `SSL_CERT_FILE` is process-wide, and the SDK reads the system
//! store once per process.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_lightsail::Client;
use aws_sdk_lightsail::config::retry::RetryConfig;
use common::*;
use lightsail_jit::lightsail::aws::{AwsLightsail, https_client};
use lightsail_jit::lightsail::trust::TrustRoots;
use lightsail_jit::lightsail::{ErrorKind, Lightsail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

/// A TLS front for `upstream`: every connection whose handshake succeeds is relayed to it
/// in plain text; every failed handshake is recorded.
struct TlsRelay {
    addr: SocketAddr,
    failed_handshakes: Arc<Mutex<Vec<String>>>,
}

impl TlsRelay {
    async fn start(upstream: SocketAddr) -> TlsRelay {
        let certs = CertificateDer::pem_file_iter(format!("{FIXTURES}/localhost.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/localhost.key")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failed_handshakes = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&failed_handshakes);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, log) = (acceptor.clone(), Arc::clone(&log));
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(mut tls) => {
                            let mut plain = TcpStream::connect(upstream).await.unwrap();
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        }
                        Err(e) => log.lock().unwrap().push(e.to_string()),
                    }
                });
            }
        });
        TlsRelay {
            addr,
            failed_handshakes,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn failed_handshakes(&self) -> Vec<String> {
        self.failed_handshakes.lock().unwrap().clone()
    }

    /// The client's alert reaches the relay's task after the client has given up.
    async fn await_failed_handshakes(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            if self.failed_handshakes.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.failed_handshakes()
    }
}

/// Our adapter over the HTTPS client `AwsLightsail::from_env` builds, without retries
/// (a refused certificate is not worth three attempts here).
fn adapter(url: &str, roots: TrustRoots) -> AwsLightsail {
    let config = sdk_config(url)
        .http_client(https_client(roots).unwrap())
        .retry_config(RetryConfig::disabled())
        .build();
    AwsLightsail::new(Client::from_conf(config), HOME)
}

#[tokio::test]
async fn amazon_roots_refuse_another_ca_and_system_roots_follow_ssl_cert_file() {
    // Before any client exists: the system store is exactly the test CA.
    let empty_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tls-no-certs");
    std::fs::create_dir_all(&empty_dir).unwrap();
    // SAFETY: the only test in this binary, and it has not started another thread yet
    // that reads the environment.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", format!("{FIXTURES}/test-ca.pem"));
        std::env::set_var("SSL_CERT_DIR", &empty_dir);
    }

    let sim = sim_server(instances()).await;
    let relay = TlsRelay::start(sim.addr()).await;

    let pinned = adapter(&relay.url(), TrustRoots::AmazonTrustServices);
    let err = pinned.get_instance("web-1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.message.contains("UnknownIssuer"), "{err}");
    let refused = relay.await_failed_handshakes(1).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("UnknownCA"), "{refused:?}");
    assert!(sim.requests().is_empty(), "a request got through");

    let system = adapter(&relay.url(), TrustRoots::System);
    let web = system.get_instance("web-1").await.unwrap();
    assert_eq!(web.name, "web-1");
    assert_eq!(web.ports, web_baseline());
    assert_eq!(sim.requests().len(), 1);
    assert_eq!(relay.failed_handshakes().len(), 1);
}
