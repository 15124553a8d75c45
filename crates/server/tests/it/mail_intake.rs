//! E-mailed requests (ADR 0022) against a real IMAP server: Debian's
//! Dovecot (`dovecot-imapd`, installed by `scripts/test.sh`), started here
//! with a private configuration on a free port (plaintext login on
//! loopback, one passwd-file user, a Maildir the test fills), and an SMTP
//! sink for Tandem's replies. A request arrives, is answered by a threaded
//! reply, decided, and the requester gets the decision as a reply in the
//! same thread; broken MIME is kept and flagged; nothing is processed twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use mail_parser::MessageParser;
use serde_json::json;
use tandem_app::Settings;
use tandem_app::intake::mail::{self, Receipt};
use tandem_app::intake::{deliver_pending, imap};
use tandem_app::requests::{self, QueueFilter};
use tandem_domain::intake::{MailSource, MailState};
use tandem_domain::request::{DecisionInput, RequestSource, RequestStatus};
use tandem_store::{EngineKind, Store};
use tandem_testkit::TestDb;

use crate::report_delivery::smtp_sink;

tandem_testkit::per_engine!(
    an_emailed_request_is_threaded_decided_and_answered_by_email,
    a_piped_message_is_processed_once_and_broken_mime_is_kept
);

/// A Dovecot serving one user's Maildir on a free loopback port; stopped
/// (by its pid) when dropped.
struct Dovecot {
    child: Child,
    port: u16,
    maildir: PathBuf,
    owner: Option<&'static str>,
    _dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const IMAP_USER: &str = "requests";
const IMAP_PASSWORD: &str = "imap-secret-for-tests";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Dovecot {
    async fn start() -> Dovecot {
        let bin = Path::new("/usr/sbin/dovecot");
        assert!(
            bin.exists(),
            "the e-mail intake tests need Dovecot: apt-get install dovecot-imapd (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let port = free_port();
        // Dovecot refuses to run its login processes as root: as root, the
        // Debian package's own users run them and own the Maildir.
        let as_root = command_output("id", &["-u"]) == "0";
        let (internal, login, owner) = if as_root {
            ("dovecot".to_owned(), "dovenull".to_owned(), Some("dovecot"))
        } else {
            let me = command_output("id", &["-un"]);
            (me.clone(), me, None)
        };
        let group = if as_root {
            "dovecot".to_owned()
        } else {
            command_output("id", &["-gn"])
        };
        let home = root.join("mail");
        let maildir = home.join(IMAP_USER).join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        std::fs::write(
            root.join("passwd"),
            format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n"),
        )
        .unwrap();
        let r = root.display();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/state\n\
             log_path = {r}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             default_internal_user = {internal}\ndefault_internal_group = {group}\n\
             default_login_user = {login}\nfirst_valid_uid = 1\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={internal} gid={group} home={r}/mail/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
             inet_listener imaps {{\n    port = 0\n  }}\n  chroot =\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(root.join("dovecot.conf"), config).unwrap();
        if let Some(owner) = owner {
            let status = Command::new("chown")
                .args([
                    "-R",
                    &format!("{owner}:{owner}"),
                    &home.display().to_string(),
                ])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let child = Command::new(bin)
            .args(["-F", "-c", &root.join("dovecot.conf").display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let d = Dovecot {
            child,
            port,
            maildir,
            owner,
            _dir: dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("dovecot did not listen on {port}");
    }

    /// Delivers a message into the Maildir as an MTA would.
    fn deliver(&self, name: &str, raw: &[u8]) {
        let tmp = self.maildir.join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        if let Some(owner) = self.owner {
            Command::new("chown")
                .args([&format!("{owner}:{owner}"), &tmp.display().to_string()])
                .status()
                .unwrap();
        }
        std::fs::rename(&tmp, self.maildir.join("new").join(name)).unwrap();
    }
}

fn settings(db_url: &str, imap_port: u16, smtp_port: u16, team: &str) -> Settings {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("imap-password");
    std::fs::write(&pw, format!("{IMAP_PASSWORD}\n")).unwrap();
    let path = dir.path().join("tandem.toml");
    std::fs::write(
        &path,
        format!(
            "[report]\ntimeout_seconds = 5\nscheduler_interval_seconds = 0\n\
             [report.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"plain\"\n\
             from = \"Tandem <tandem@example.com>\"\n\
             [requests.imap]\nhost = \"127.0.0.1\"\nport = {imap_port}\nuser = \"{IMAP_USER}\"\n\
             password_file = {pw:?}\ntls = false\nteam = \"{team}\"\n\
             reply_to = \"requests@example.com\"\n"
        ),
    )
    .unwrap();
    let env = vec![("TANDEM_DATABASE__URL".to_owned(), db_url.to_owned())];
    let s = Settings::load_from(Some(&path), &env).expect("settings");
    // The password file is read at each poll: keep it.
    std::mem::forget(dir);
    s
}

async fn team(store: &Store) {
    tandem_app::demo::load_organisation(store, Utc::now().date_naive())
        .await
        .unwrap();
    store.get_team_by_key("payments").await.unwrap();
}

const REQUEST: &str = "From: Carla Diaz <carla@example.com>\r\n\
To: requests@example.com\r\n\
Subject: Quarterly revenue export\r\n\
Message-ID: <req-1@mail.example.com>\r\n\
Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
We need the quarterly revenue as a CSV for the board.\r\n\
\r\n\
1. Board reporting without manual work\r\n\
By when: before the board meets on 15 January\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>We need the quarterly revenue as a CSV for the board.</p>\r\n\
--b1--\r\n";

/// Waits until the SMTP sink holds `n` messages.
async fn mails(
    sink: &std::sync::Arc<std::sync::Mutex<Vec<crate::report_delivery::Mail>>>,
    n: usize,
) -> Vec<Vec<u8>> {
    for _ in 0..100 {
        let got: Vec<Vec<u8>> = sink
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.data.clone())
            .collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the SMTP sink did not get {n} messages");
}

async fn an_emailed_request_is_threaded_decided_and_answered_by_email(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    team(&store).await;
    // This tests the channel, not when it may speak (notify.rs does).
    crate::support::always_open(&store).await;
    let dovecot = Dovecot::start().await;
    let (smtp_port, sink) = smtp_sink().await;
    let s = settings(&db.url, dovecot.port, smtp_port, "payments");
    let imap_settings = s.requests.imap.clone().unwrap();

    dovecot.deliver("1.eml", REQUEST.as_bytes());
    dovecot.deliver("2.eml", b"\x01\x02 this is not an e-mail at all \xff\xfe");
    let receipts = imap::poll(&store, &s, &imap_settings, Utc::now())
        .await
        .unwrap();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    let Receipt::Request { request, .. } = receipts[0].clone() else {
        panic!("not a request: {receipts:?}");
    };
    let Receipt::Broken {
        mail: broken,
        reason,
    } = receipts[1].clone()
    else {
        panic!("not flagged: {receipts:?}");
    };
    assert!(!reason.is_empty());
    let kept = store.inbound_mail(broken).await.unwrap().unwrap();
    assert_eq!(kept.state, MailState::Broken);
    assert_eq!(
        kept.raw, b"\x01\x02 this is not an e-mail at all \xff\xfe",
        "kept byte for byte"
    );

    // Polled again (a restart, another replica): nothing new.
    assert!(
        imap::poll(&store, &s, &imap_settings, Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    // Even without the cursor (another mailbox name, same messages): duplicates.
    let again = mail::receive(
        &store,
        &s,
        REQUEST.as_bytes().to_vec(),
        MailSource::Imap,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(matches!(again, Receipt::Duplicate { .. }), "{again:?}");

    // In the triage queue, from e-mail, with what the message answered.
    let queue = requests::queue(&store, &s, &QueueFilter::default())
        .await
        .unwrap()
        .entries;
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].id, queue[0].source),
        (request, RequestSource::Email)
    );
    assert_eq!(queue[0].title, "Quarterly revenue export");
    assert_eq!(queue[0].requester, "Carla Diaz");
    let r = store.get_request(request).await.unwrap();
    assert_eq!(
        r.answers.business_goal.as_deref(),
        Some("Board reporting without manual work")
    );
    assert_eq!(
        r.answers.deadline.as_deref(),
        Some("before the board meets on 15 January")
    );
    assert_eq!(r.answers.success_measure, None);
    assert_eq!(r.reply.email_address.as_deref(), Some("carla@example.com"));

    // Received: a reply in the thread asking the open questions, numbered;
    // and Maria, who manages payments (no Slack here), gets the request's
    // cost of yes by e-mail (ADR 0039).
    let told = deliver_pending(&store, &s).await.unwrap();
    assert_eq!((told.sent, told.failed), (2, 0));
    let sent = mails(&sink, 2).await;
    let to_maria = MessageParser::default().parse(&sent[1]).unwrap();
    assert_eq!(
        to_maria.to().unwrap().first().unwrap().address(),
        Some("maria@acme.example")
    );
    assert_eq!(
        to_maria.subject(),
        Some("New request: Quarterly revenue export")
    );
    let cost = to_maria.body_text(0).unwrap().into_owned();
    assert!(
        cost.contains("The cost of yes") && cost.contains("Carla Diaz"),
        "{cost}"
    );
    assert!(cost.contains(&format!("/requests/{request}")), "{cost}");
    let ack = MessageParser::default().parse(&sent[0]).unwrap();
    assert_eq!(ack.subject(), Some("Re: Quarterly revenue export"));
    assert_eq!(ack.in_reply_to().as_text(), Some("req-1@mail.example.com"));
    assert_eq!(
        ack.reply_to().unwrap().first().unwrap().address(),
        Some("requests@example.com")
    );
    let ack_text = ack.body_text(0).unwrap().into_owned();
    assert!(
        ack_text.contains("2. How will success be measured?"),
        "{ack_text}"
    );
    let ack_id = ack.message_id().unwrap().to_owned();

    // Carla answers by replying to the acknowledgement (quoting it).
    let answer = format!(
        "From: Carla Diaz <carla@example.com>\r\nTo: requests@example.com\r\n\
         Subject: Re: Quarterly revenue export\r\nMessage-ID: <req-2@mail.example.com>\r\n\
         In-Reply-To: <{ack_id}>\r\nReferences: <req-1@mail.example.com> <{ack_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         2. The board pack is built in an hour instead of a day\r\n\r\n\
         On Mon, 7 Dec 2026, Tandem wrote:\r\n> 2. How will success be measured?\r\n"
    );
    dovecot.deliver("3.eml", answer.as_bytes());
    let receipts = imap::poll(&store, &s, &imap_settings, Utc::now())
        .await
        .unwrap();
    assert_eq!(receipts.len(), 1);
    assert!(
        matches!(receipts[0], Receipt::Reply { request: r, .. } if r == request),
        "{receipts:?}"
    );
    let r = store.get_request(request).await.unwrap();
    assert_eq!(
        r.answers.success_measure.as_deref(),
        Some("The board pack is built in an hour instead of a day")
    );
    assert_eq!(
        requests::queue(&store, &s, &QueueFilter::default())
            .await
            .unwrap()
            .entries
            .len(),
        1,
        "a reply adds to the request, it is not a new one"
    );

    // Decided: told by a reply in the same thread.
    let input: DecisionInput =
        serde_json::from_value(json!({"kind": "postpone", "reason": "After the migration"}))
            .unwrap();
    let decided = requests::decide(&store, &s, request, input, "manager")
        .await
        .unwrap();
    assert_eq!(decided.status, RequestStatus::Postponed);
    crate::requests::decided_everywhere(&store, &s, request, "postponed").await;
    let told = deliver_pending(&store, &s).await.unwrap();
    assert_eq!((told.sent, told.failed), (1, 0));
    let sent = mails(&sink, 3).await;
    let decision = MessageParser::default().parse(&sent[2]).unwrap();
    assert_eq!(
        decision.in_reply_to().as_text(),
        Some("req-1@mail.example.com")
    );
    assert_eq!(
        decision.to().unwrap().first().unwrap().address(),
        Some("carla@example.com")
    );
    let text = decision.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("postponed") && text.contains("After the migration"),
        "{text}"
    );
    assert_eq!(
        deliver_pending(&store, &s).await.unwrap().sent,
        0,
        "told once"
    );
    drop(dovecot);
}

async fn a_piped_message_is_processed_once_and_broken_mime_is_kept(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    team(&store).await;
    let (smtp_port, _sink) = smtp_sink().await;
    let s = settings(&db.url, 1, smtp_port, "payments");
    let now = Utc::now();
    let first = mail::receive(
        &store,
        &s,
        REQUEST.as_bytes().to_vec(),
        MailSource::Pipe,
        Some("payments"),
        now,
    )
    .await
    .unwrap();
    assert!(matches!(first, Receipt::Request { .. }), "{first:?}");
    let second = mail::receive(
        &store,
        &s,
        REQUEST.as_bytes().to_vec(),
        MailSource::Pipe,
        Some("payments"),
        now,
    )
    .await
    .unwrap();
    assert!(matches!(second, Receipt::Duplicate { .. }));

    // A team nobody has: kept and flagged with the reason, not lost.
    let other = REQUEST.replace("req-1@", "req-9@");
    let r = mail::receive(
        &store,
        &s,
        other.into_bytes(),
        MailSource::Pipe,
        Some("nope"),
        now,
    )
    .await
    .unwrap();
    let Receipt::Broken { reason, .. } = r else {
        panic!("{r:?}")
    };
    assert!(reason.contains("nope"), "{reason}");
    // No From address: flagged.
    let r = mail::receive(
        &store,
        &s,
        b"Subject: x\r\n\r\nbody\r\n".to_vec(),
        MailSource::Pipe,
        None,
        now,
    )
    .await
    .unwrap();
    assert!(matches!(r, Receipt::Broken { .. }), "{r:?}");
    let broken = store
        .inbound_mails(Some(MailState::Broken), 10)
        .await
        .unwrap();
    assert_eq!(broken.len(), 2);
    assert_eq!(
        requests::queue(&store, &s, &QueueFilter::default())
            .await
            .unwrap()
            .entries
            .len(),
        1
    );
}
