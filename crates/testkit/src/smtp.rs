//! A minimal SMTP server on loopback for tests that send e-mail: the RFC
//! 5321 commands a client sends for one message (EHLO/HELO, AUTH PLAIN,
//! MAIL FROM, RCPT TO, DATA with dot-unstuffing, QUIT), recording every
//! message it accepts.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub data: Vec<u8>,
    pub auth: Option<String>,
}

/// A minimal SMTP server on loopback (RFC 5321 commands a client sends for
/// one message, AUTH PLAIN), recording every message.
pub async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let out = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let mails = mails.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink ESMTP\r\n").await.ok();
                let (mut rcpt, mut auth) = (Vec::new(), None);
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_owned();
                    let upper = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("AUTH PLAIN") {
                        auth = Some(cmd[10..].trim().to_owned());
                        b"235 ok\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        rcpt.clear();
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpt.push(cmd[8..].trim().trim_matches(['<', '>']).to_owned());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        w.write_all(b"354 go\r\n").await.ok();
                        let mut data = Vec::new();
                        loop {
                            let mut l = Vec::new();
                            if r.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == b".\r\n" {
                                break;
                            }
                            let l = if l.starts_with(b"..") {
                                &l[1..]
                            } else {
                                &l[..]
                            };
                            data.extend_from_slice(l);
                        }
                        mails.lock().unwrap().push(Mail {
                            rcpt: rcpt.clone(),
                            data,
                            auth: auth.clone(),
                        });
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, out)
}
