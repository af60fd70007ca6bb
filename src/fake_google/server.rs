//! The HTTP side: an axum router on a 127.0.0.1 listener whose connections
//! can be killed from a handler. A `Reset` reply marks the connection dead;
//! its socket then refuses every write, so hyper drops it with no answer
//! written and the peer sees a connection reset (SO_LINGER 0 → RST).

use super::reply::Reply;
use super::state::Shared;
use super::{batch, gmail, oidc, token};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Gmail accepts messages up to ~35 MB (base64 makes them bigger).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

type AppState = Arc<Shared>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(token_entry))
        .route("/batch/gmail/v1", post(batch_entry))
        .route("/batch", post(batch_entry))
        .route("/oauth2/v3/certs", get(jwks_entry))
        .fallback(gmail_entry)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn token_entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    body: Bytes,
) -> Response {
    finish(token::exchange(&shared, &body), &conn)
}

async fn jwks_entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<Conn>,
) -> Response {
    finish(oidc::jwks(&shared).await, &conn)
}

async fn batch_entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    add_latency(&shared).await;
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let content_type = text("content-type").unwrap_or_default();
    finish(
        batch::handle(&shared, &content_type, text("authorization"), &body),
        &conn,
    )
}

async fn gmail_entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !uri.path().starts_with("/gmail/v1/") {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    add_latency(&shared).await;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let req = gmail::ApiRequest::new(method, target, auth, body.to_vec());
    let reply = gmail::call(&shared, &req, false);
    hold_reply(&shared, &req).await;
    finish(reply, &conn)
}

/// Holds the answer of a call that already took effect (`hold_replies`).
async fn hold_reply(shared: &Shared, req: &gmail::ApiRequest) {
    let hold = gmail::method_of(req).and_then(|m| shared.lock().faults.hold(m));
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
}

async fn add_latency(shared: &Shared) {
    let latency = shared.lock().faults.random.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

fn finish(reply: Reply, conn: &Conn) -> Response {
    match reply {
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            for (name, value) in headers {
                if let Ok(v) = value.parse() {
                    resp.headers_mut().insert(name, v);
                }
            }
            resp
        }
        Reply::Reset => {
            conn.kill.store(true, Ordering::SeqCst);
            // Never written: the socket refuses writes from now on.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Per-connection info handed to handlers: where to flip the kill switch.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    kill: Arc<AtomicBool>,
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, KillListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose streams carry a kill switch.
pub(crate) struct KillListener(pub(crate) TcpListener);

impl Listener for KillListener {
    type Io = KillableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let conn = Conn { kill: kill.clone() };
                    return (KillableStream { tcp, kill }, conn);
                }
                // Out of file descriptors and the like: wait, then retry.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        let _: SocketAddr = self.0.local_addr()?;
        Ok(Conn {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

pub(crate) struct KillableStream {
    tcp: TcpStream,
    kill: Arc<AtomicBool>,
}

impl KillableStream {
    fn killed(&self) -> Option<io::Error> {
        if !self.kill.load(Ordering::SeqCst) {
            return None;
        }
        // Close with RST rather than FIN, like a dropped connection.
        let _ = self.tcp.set_zero_linger();
        Some(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "fault: reset",
        ))
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        match me.killed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut me.tcp).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        match me.killed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut me.tcp).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        match me.killed() {
            Some(e) => Poll::Ready(Err(e)),
            None => Pin::new(&mut me.tcp).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
