//! `wss://`: the server terminates TLS itself with a certificate made by the test.

use bots::client::BotClient;

use crate::harness::{TempDir, TestServer, WAIT, test_config};

#[tokio::test]
async fn players_join_over_wss_with_a_self_signed_certificate() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let dir = TempDir(std::env::temp_dir().join(format!("skirmish-tls-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert file");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("key file");
    bots::tls::trust_pem(certified.cert.pem().as_bytes()).expect("trust the test root");

    let mut config = test_config();
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    let server = TestServer::start_with(config).await;
    let url = format!("wss://localhost:{}/ws", server.addr.port());
    let mut ada = BotClient::connect(&url, "Ada", WAIT)
        .await
        .expect("joins over wss (session POST over https too)");
    let snapshot =
        ada.recv_until(WAIT, |m| m.snapshot().cloned()).await.expect("snapshots arrive over TLS");
    assert!(
        snapshot.players.iter().any(|p| p.id == ada.welcome.player_id),
        "Ada is in her snapshot"
    );

    let plain =
        BotClient::connect(&format!("ws://localhost:{}/ws", server.addr.port()), "Bob", WAIT).await;
    assert!(plain.is_err(), "plain ws:// to the TLS port fails");
    server.shutdown().await.expect("clean shutdown");
}
