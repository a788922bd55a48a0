//! HTTPS and wss end to end: a TLS terminator with a throwaway certificate
//! sits in front of the test server. The agent must verify the certificate
//! against the trust store (here `SSL_CERT_FILE`), derive `wss://` from an
//! `https://` server URL, and refuse an untrusted certificate.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use patchmon_server::testkit::TestServer;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::HEAVY;
use super::e2e::{AgentDir, Serve, eventually, text};

/// Terminates TLS for "localhost" and forwards plain bytes to `upstream`.
async fn tls_terminator(upstream: SocketAddr) -> (SocketAddr, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = cert.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_with_a_verified_certificate() {
    let _serial = HEAVY.lock().await;
    let server = TestServer::start().await;
    let host = server.create_host("e2e-tls").await;
    let (tls, pem) = tls_terminator(server.addr()).await;
    let agent = AgentDir::new();
    let ca = agent.root.join("test-ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let url = format!("https://localhost:{}", tls.port());

    // Untrusted certificate: a clear failure, no silent fallback.
    let out = agent
        .run(&["config", "set-api", &host.api_id, &host.api_key, &url])
        .await;
    let out2 = agent.run(&["ping"]).await;
    assert!(
        !out2.status.success(),
        "ping must fail with an untrusted certificate: {}",
        text(&out2)
    );
    assert!(
        text(&out2).to_lowercase().contains("certificate")
            || text(&out).to_lowercase().contains("certificate"),
        "the error should name the certificate: {}",
        text(&out2)
    );

    // Trusted through SSL_CERT_FILE: REST works…
    let mut ping = agent.cmd(&["ping"]);
    ping.env("SSL_CERT_FILE", &ca);
    let out = tokio::task::spawn_blocking(move || ping.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // …and `serve` opens its WebSocket over wss and takes commands.
    let child = agent
        .cmd(&["serve"])
        .env("SSL_CERT_FILE", &ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _serve = Serve(child);
    let id = host.api_id.clone();
    assert!(
        eventually(Duration::from_secs(60), || async {
            server.is_connected(&id).await
        })
        .await,
        "no wss connection; log:\n{}",
        agent.log()
    );
    let before = server.report_count(&host.api_id).await;
    assert!(
        eventually(Duration::from_secs(60), || async {
            server.report_count(&id).await >= 1
        })
        .await,
        "no report over https; log:\n{}",
        agent.log()
    );
    assert!(
        server
            .send_command(&host.api_id, patchmon_protocol::ServerMessage::ReportNow)
            .await
    );
    assert!(
        eventually(Duration::from_secs(30), || async {
            server.report_count(&id).await > before.max(1)
        })
        .await,
        "report_now over wss did not produce a report; log:\n{}",
        agent.log()
    );
}
