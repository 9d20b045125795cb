//! Where an instance's connections go: real TCP sockets, or a simulated network inside the
//! process, for deterministic simulation.
//!
//! A simulated network ([`SimulatedNetwork`]) hands out addresses on 127.0.0.1 from a counter and
//! joins a connection to its listener with an in-memory pipe: no socket, no file descriptor, and,
//! on a single-threaded runtime, every byte delivered in an order that depends only on the order
//! the tasks run in. Installed on a thread ([`install_on_this_thread`]), it takes every
//! [`bind`] and [`connect`] made there: the servers and clients above do not know which network
//! they are on, and speak the same HTTP either way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Bytes a simulated connection buffers each way before a writer waits for the reader.
const PIPE_BYTES: usize = 64 * 1024;
/// Connections waiting to be accepted on a simulated listener (a TCP backlog's part).
const BACKLOG: usize = 1024;
/// The first port a simulated network hands out.
const FIRST_PORT: u16 = 10_000;

/// A network inside the process: listeners by address, connections as in-memory pipes.
#[derive(Debug, Default)]
pub struct SimulatedNetwork {
    state: Mutex<NetworkState>,
}

#[derive(Debug, Default)]
struct NetworkState {
    listeners: HashMap<SocketAddr, mpsc::Sender<DuplexStream>>,
    /// The last port handed out for a bind to port 0.
    last_port: Option<u16>,
}

impl SimulatedNetwork {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NetworkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Listens on `address` (its port 0: the next free one, in order, so the same program binds
    /// the same ports every run).
    pub fn bind(self: &Arc<Self>, address: SocketAddr) -> io::Result<SimulatedListener> {
        let mut state = self.lock();
        let address = if address.port() == 0 {
            let mut port = state.last_port.map_or(FIRST_PORT, |p| p.saturating_add(1));
            while state
                .listeners
                .contains_key(&SocketAddr::new(address.ip(), port))
            {
                port = port.checked_add(1).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::AddrNotAvailable, "no simulated port left")
                })?;
            }
            state.last_port = Some(port);
            SocketAddr::new(address.ip(), port)
        } else {
            address
        };
        if state.listeners.contains_key(&address) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{address} is in use on the simulated network"),
            ));
        }
        let (sender, incoming) = mpsc::channel(BACKLOG);
        state.listeners.insert(address, sender);
        Ok(SimulatedListener {
            address,
            incoming,
            network: Arc::downgrade(self),
        })
    }

    /// Connects to the listener on `address`: refused when there is none, as TCP is.
    pub async fn connect(&self, address: SocketAddr) -> io::Result<DuplexStream> {
        let sender = self
            .lock()
            .listeners
            .get(&address)
            .cloned()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("nothing listens on {address} on the simulated network"),
                )
            })?;
        let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
        sender.send(theirs).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("the listener on {address} closed"),
            )
        })?;
        Ok(ours)
    }
}

/// A listener on a simulated network; its address is free again once it is dropped.
#[derive(Debug)]
pub struct SimulatedListener {
    address: SocketAddr,
    incoming: mpsc::Receiver<DuplexStream>,
    network: std::sync::Weak<SimulatedNetwork>,
}

impl Drop for SimulatedListener {
    fn drop(&mut self) {
        if let Some(network) = self.network.upgrade() {
            network.lock().listeners.remove(&self.address);
        }
    }
}

thread_local! {
    static INSTALLED: RefCell<Option<Arc<SimulatedNetwork>>> = const { RefCell::new(None) };
}

/// Makes every [`bind`] and [`connect`] on this thread use `network`, until the guard is dropped.
#[must_use = "the simulated network is in effect only while the guard lives"]
pub fn install_on_this_thread(network: Arc<SimulatedNetwork>) -> InstalledGuard {
    let previous = INSTALLED.with(|installed| installed.replace(Some(network)));
    InstalledGuard { previous }
}

/// Restores the thread's network as it was when dropped.
pub struct InstalledGuard {
    previous: Option<Arc<SimulatedNetwork>>,
}

impl Drop for InstalledGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        INSTALLED.with(|installed| *installed.borrow_mut() = previous);
    }
}

fn installed() -> Option<Arc<SimulatedNetwork>> {
    INSTALLED.with(|installed| installed.borrow().clone())
}

/// A listener: a TCP one, or one on the thread's simulated network.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Simulated(SimulatedListener),
}

impl Listener {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr(),
            Listener::Simulated(listener) => Ok(listener.address),
        }
    }

    /// The next connection.
    pub async fn accept(&mut self) -> io::Result<Connection> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                // Packets are small request/response exchanges: Nagle's delay only hurts.
                let _ = stream.set_nodelay(true);
                Ok(Connection::Tcp(stream))
            }
            Listener::Simulated(listener) => listener
                .incoming
                .recv()
                .await
                .map(Connection::Simulated)
                .ok_or_else(|| io::Error::other("the simulated network is gone")),
        }
    }
}

/// Listens on `address`: on the thread's simulated network if one is installed, else on TCP.
pub async fn bind(address: SocketAddr) -> io::Result<Listener> {
    match installed() {
        Some(network) => network.bind(address).map(Listener::Simulated),
        None => TcpListener::bind(address).await.map(Listener::Tcp),
    }
}

/// Connects to `host:port`: on the thread's simulated network if one is installed (where hosts
/// are IP addresses; a name is refused), else over TCP.
pub async fn connect(host: &str, port: u16) -> io::Result<Connection> {
    match installed() {
        Some(network) => {
            let ip = if host.eq_ignore_ascii_case("localhost") {
                Ipv4Addr::LOCALHOST.into()
            } else {
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse()
                    .map_err(|_| {
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{host} is not an address on the simulated network"),
                        )
                    })?
            };
            network
                .connect(SocketAddr::new(ip, port))
                .await
                .map(Connection::Simulated)
        }
        None => {
            // A URL's IPv6 host comes in brackets; the resolver wants the address alone.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let stream = TcpStream::connect((host, port)).await?;
            let _ = stream.set_nodelay(true);
            Ok(Connection::Tcp(stream))
        }
    }
}

/// A connection: a TCP stream, or a pipe on a simulated network.
#[derive(Debug)]
pub enum Connection {
    Tcp(TcpStream),
    Simulated(DuplexStream),
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            Connection::Simulated(pipe) => Pin::new(pipe).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            Connection::Simulated(pipe) => Pin::new(pipe).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            Connection::Simulated(pipe) => Pin::new(pipe).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            Connection::Simulated(pipe) => Pin::new(pipe).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Connection::Simulated(pipe) => Pin::new(pipe).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Tcp(stream) => stream.is_write_vectored(),
            Connection::Simulated(pipe) => pipe.is_write_vectored(),
        }
    }
}

/// Connects hyper's pooling client (`hyper_util`'s legacy `Client`) through [`connect`]: on the
/// thread's simulated network when one is installed, else over TCP. Plain `http` only, with a
/// bound on the time a connection may take.
#[derive(Debug, Clone, Copy)]
pub struct HttpConnector {
    connect_timeout: std::time::Duration,
    /// Whether `https` URLs are connected too, for a TLS layer wrapped around this connector.
    under_tls: bool,
}

impl HttpConnector {
    pub fn new(connect_timeout: std::time::Duration) -> Self {
        Self {
            connect_timeout,
            under_tls: false,
        }
    }

    /// Connects `https` URLs too (port 443 by default): for a TLS layer wrapped around this
    /// connector, which speaks TLS over the connection.
    pub fn under_tls(mut self) -> Self {
        self.under_tls = true;
        self
    }
}

impl tower::Service<hyper::Uri> for HttpConnector {
    type Response = hyper_util::rt::TokioIo<Connection>;
    type Error = io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let (timeout, under_tls) = (self.connect_timeout, self.under_tls);
        Box::pin(async move {
            let default_port = match uri.scheme_str() {
                Some("http") => 80,
                Some("https") if under_tls => 443,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{uri}: only http URLs are reached"),
                    ));
                }
            };
            let host = uri.host().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{uri} has no host"))
            })?;
            let port = uri.port_u16().unwrap_or(default_port);
            let connection = tokio::time::timeout(timeout, connect(host, port))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting to {host}:{port} timed out"),
                    )
                })??;
            Ok(hyper_util::rt::TokioIo::new(connection))
        })
    }
}

impl hyper_util::client::legacy::connect::Connection for Connection {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_simulated_network_joins_a_connection_to_its_listener() {
        let network = SimulatedNetwork::new();
        let _installed = install_on_this_thread(network.clone());
        let mut listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let address = listener.local_addr().unwrap();
        assert_eq!(address.port(), FIRST_PORT);
        let second = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        assert_eq!(second.local_addr().unwrap().port(), FIRST_PORT + 1);
        let mut client = connect("127.0.0.1", address.port()).await.unwrap();
        let mut server = listener.accept().await.unwrap();
        client.write_all(b"prepare").await.unwrap();
        let mut read = [0u8; 7];
        server.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"prepare");
        assert!(matches!(client, Connection::Simulated(_)));
        // Nothing listens elsewhere, and a dropped listener frees its address.
        let refused = connect("127.0.0.1", 9).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        let freed = second.local_addr().unwrap();
        drop(second);
        assert!(network.bind(freed).is_ok());
        assert_eq!(
            connect("cloud-nine.example", 80).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn without_a_simulated_network_it_is_tcp() {
        let mut listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        let client = connect("127.0.0.1", port).await.unwrap();
        assert!(matches!(client, Connection::Tcp(_)));
        accepted.await.unwrap().unwrap();
    }
}
