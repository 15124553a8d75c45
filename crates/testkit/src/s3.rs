//! A local S3-compatible server for tests: `moto_server`.
//!
//! `scripts/test.sh` installs moto into `target/s3-venv` and starts one,
//! whose address it exports as `TANDEM_TEST_S3_URL`; [`S3Server::start`]
//! uses that one, else starts its own (from `target/s3-venv`, else on
//! `PATH`), stopped when dropped.

use std::time::Duration;

/// A running S3 stand-in and its address.
#[derive(Debug)]
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Option<std::process::Child>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl S3Server {
    /// The shared server of `TANDEM_TEST_S3_URL`, else one of this test's own.
    pub async fn start() -> S3Server {
        match std::env::var("TANDEM_TEST_S3_URL") {
            Ok(url) => S3Server { url, child: None },
            Err(_) => S3Server::own(free_port()).await,
        }
    }

    /// A server of this test's own on `port` (for a test that stops and
    /// starts it: never the shared one), up when this returns.
    pub async fn own(port: u16) -> S3Server {
        let venv = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/s3-venv/bin/moto_server"
        );
        let bin = if std::path::Path::new(venv).exists() {
            venv
        } else {
            "moto_server"
        };
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server (run scripts/test.sh once: it installs moto)");
        let server = S3Server {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not come up on {}", server.url);
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
