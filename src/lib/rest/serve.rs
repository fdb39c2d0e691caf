//! The listener: a tokio runtime of two workers on threads of its own, a
//! bounded number of connections (more wait in the kernel's backlog), the TLS
//! handshake and the request headers each within a deadline (a slow client is
//! cut), HTTP/1.1 by hyper, the routes by axum. No thread per connection.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::ClientAddr;
use crate::error::{ClpError, Result};

/// How long a client may take for the TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers (also the idle
/// time allowed between the requests of a kept-alive connection).
pub const HEADER_DEADLINE: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Operations wait for clpd on blocking threads: at most this many at once.
const BLOCKING_THREADS: usize = 64;

/// Binds `addr`; the IPv6 wildcard takes IPv4 too, and falls back to the
/// IPv4 wildcard where IPv6 is off.
pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let open = |addr: SocketAddr| -> io::Result<TcpListener> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        if addr.is_ipv6() && addr.ip().is_unspecified() {
            socket.set_only_v6(false)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    };
    match open(addr) {
        Err(_) if addr.is_ipv6() && addr.ip().is_unspecified() => open(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            addr.port(),
        )),
        other => other,
    }
}

/// Serves `router` on `listener` from now on, on threads of its own.
pub(super) fn spawn(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    max_connections: usize,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("rest")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| ClpError::failed(format!("cannot start the REST API's runtime: {e}")))?;
    std::thread::Builder::new()
        .name("rest".into())
        .spawn(move || runtime.block_on(accept(listener, tls, router, max_connections)))
        .map(|_| ())
        .map_err(|e| ClpError::failed(format!("cannot start the REST API's thread: {e}")))
}

async fn accept(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    max_connections: usize,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(target: "rest", "REST API: cannot use the listening socket: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        // A free slot first: beyond the bound, clients wait in the backlog.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or memory: back off instead of spinning.
                tracing::warn!(target: "rest", "cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (router, acceptor) = (router.clone(), acceptor.clone());
        tokio::spawn(async move {
            connection(stream, peer, acceptor, router).await;
            drop(slot);
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    router: Router,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        router.clone().oneshot(request)
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_DEADLINE)
        .max_buf_size(MAX_HEAD);
    match acceptor {
        Some(acceptor) => {
            let stream =
                match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(target: "rest", "TLS handshake with {peer} failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(target: "rest", "TLS handshake with {peer} timed out");
                        return;
                    }
                };
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
        None => {
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}
