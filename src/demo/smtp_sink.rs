//! A tiny in-process SMTP server for the demo and tests: accepts every
//! message on 127.0.0.1 (EHLO/HELO, AUTH PLAIN with any credentials, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT; no TLS) and keeps messages and logins in
//! memory, so the digest's SMTP fallback has somewhere real to go without
//! an external process.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Larger messages are refused (552) rather than buffered.
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct SinkMessage {
    pub from: String,
    pub to: Vec<String>,
    /// The message as received (dot-unstuffed, CRLF line ends).
    pub data: Vec<u8>,
}

/// The running sink; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    messages: Arc<Mutex<Vec<SinkMessage>>>,
    logins: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let messages = Arc::new(Mutex::new(Vec::new()));
        let logins = Arc::new(Mutex::new(Vec::new()));
        let (store, users) = (messages.clone(), logins.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, users) = (store.clone(), users.clone());
                tokio::spawn(async move {
                    if let Err(e) = session(stream, store, users).await {
                        tracing::debug!(error = %e, "smtp sink session ended");
                    }
                });
            }
        });
        Ok(SmtpSink {
            addr,
            messages,
            logins,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn messages(&self) -> Vec<SinkMessage> {
        self.messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The user names that logged in with AUTH PLAIN (passwords are not kept).
    pub fn logins(&self) -> Vec<String> {
        self.logins
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// The user of an AUTH PLAIN response (`authzid NUL user NUL password`).
fn plain_user(b64: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let mut parts = raw.split(|&b| b == 0);
    let (_, user, pass) = (parts.next()?, parts.next()?, parts.next()?);
    (!user.is_empty() && !pass.is_empty()).then(|| String::from_utf8_lossy(user).into_owned())
}

fn angle(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(arg, |(addr, _)| addr);
    inner.trim().to_string()
}

async fn session(
    stream: TcpStream,
    store: Arc<Mutex<Vec<SinkMessage>>>,
    logins: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 demo-sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-demo-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN\r\n250 SIZE 10485760\r\n"
        } else if upper.starts_with("HELO") {
            b"250 demo-sink\r\n"
        } else if let Some(arg) = upper.strip_prefix("MAIL FROM:").map(|_| &cmd[10..]) {
            (from, to) = (angle(arg), Vec::new());
            b"250 OK\r\n"
        } else if let Some(arg) = upper.strip_prefix("RCPT TO:").map(|_| &cmd[8..]) {
            to.push(angle(arg));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            match read_data(&mut read).await? {
                Some(data) => {
                    let msg = SinkMessage {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data,
                    };
                    store.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
                    b"250 OK queued\r\n"
                }
                None => b"552 message too large\r\n",
            }
        } else if upper.starts_with("AUTH PLAIN") {
            let mut response = cmd[10..].trim().to_string();
            if response.is_empty() {
                write.write_all(b"334 \r\n").await?;
                read.read_line(&mut response).await?;
            }
            match plain_user(&response) {
                Some(user) => {
                    logins.lock().unwrap_or_else(|e| e.into_inner()).push(user);
                    b"235 2.7.0 authenticated\r\n"
                }
                None => b"535 5.7.8 malformed credentials\r\n",
            }
        } else if upper == "RSET" {
            (from, to) = (String::new(), Vec::new());
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// Reads DATA up to the lone dot; `None` when it exceeded the limit.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    read: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((data.len() <= MAX_MESSAGE).then_some(data));
        }
        let body = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() <= MAX_MESSAGE {
            data.extend_from_slice(body);
        }
    }
}
