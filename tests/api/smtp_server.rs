//! A small SMTP server for the mail tests, on a random port of 127.0.0.1: it speaks enough
//! of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it
//! accepted, and can be "down" (answers 421 and hangs up) to see retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message: its envelope and the raw message as sent after `DATA`.
#[derive(Debug, Clone)]
pub(crate) struct SmtpMail {
    pub(crate) from: String,
    pub(crate) to: Vec<String>,
    pub(crate) data: Vec<u8>,
}

impl SmtpMail {
    /// The message parsed (headers decoded, parts split).
    pub(crate) fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.data).expect("a parseable message")
    }
}

#[derive(Default)]
struct State {
    mails: Vec<SmtpMail>,
    down: bool,
    /// Connections refused while down.
    refused: usize,
}

/// The server: its URL for `KONTOR_SMTP_URL` and what it got.
#[derive(Clone)]
pub(crate) struct SmtpServer {
    pub(crate) url: String,
    state: Arc<Mutex<State>>,
}

impl SmtpServer {
    pub(crate) async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, shared.clone()));
            }
        });
        SmtpServer { url: format!("smtp://127.0.0.1:{port}"), state }
    }

    /// While down, every connection is answered `421` and closed.
    pub(crate) fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// Connections refused while down.
    pub(crate) fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// Every message accepted so far.
    pub(crate) fn mails(&self) -> Vec<SmtpMail> {
        self.state.lock().unwrap().mails.clone()
    }

    /// Waits (up to 15 s) until `done` holds for the accepted messages; panics naming `what`.
    pub(crate) async fn wait_for(&self, what: &str, done: impl Fn(&[SmtpMail]) -> bool) -> Vec<SmtpMail> {
        for _ in 0..300 {
            let mails = self.mails();
            if done(&mails) {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: the SMTP server got {:?}", self.mails().iter().map(|m| &m.to).collect::<Vec<_>>());
    }

    /// The messages to `recipient`.
    pub(crate) fn mails_to(&self, recipient: &str) -> Vec<SmtpMail> {
        self.mails().into_iter().filter(|m| m.to.iter().any(|t| t == recipient)).collect()
    }
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].to_string()
}

async fn session(socket: tokio::net::TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let down = {
        let mut s = state.lock().unwrap();
        if s.down {
            s.refused += 1;
        }
        s.down
    };
    if down {
        let _ = write.write_all(b"421 test server is down\r\n").await;
        return;
    }
    let _ = write.write_all(b"220 kontor-test ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_string();
        let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-kontor-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "NOOP" => b"250 ok\r\n",
            "MAIL" => {
                from = address(&command);
                b"250 ok\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 ok\r\n"
            }
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                b"250 ok\r\n"
            }
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if lines.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 4.5.2).
                    data.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
                }
                let mail = SmtpMail { from: std::mem::take(&mut from), to: std::mem::take(&mut to), data };
                state.lock().unwrap().mails.push(mail);
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}
