//! A running instance: the instance's services behind their HTTP servers on real sockets.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::net::Listener;
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::admin;
use crate::autopeer::{self, AutoPeering};
use crate::config::Config;
use crate::connector::{self, Connector, ConnectorSettings};
use crate::events::{self, DeliveryStats, WebhookDelivery};
use crate::http_server;
use crate::ilp::Address;
use crate::instance::{Instance, InstanceSettings};
use crate::openpayments::{self, http::OpenPayments};
use crate::payments::Payments;

/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot listen on {addr} ({variable}): {source}")]
    Bind {
        variable: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("cannot build a URL to reach {0}")]
    ConnectorUrl(SocketAddr),
}

/// An instance serving its admin API and connector until [`Node::shutdown`].
#[derive(Debug)]
pub struct Node {
    instance: Arc<Instance>,
    connector: Arc<Connector>,
    auto_peering_addr: Option<SocketAddr>,
    admin_addr: SocketAddr,
    connector_addr: SocketAddr,
    connector_url: Url,
    open_payments_url: Url,
    open_payments_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// What the instance serves over HTTP, kept to serve it again after [`Node::stop_serving`].
    serving: Serving,
    /// The HTTP servers (admin, connector, Open Payments, auto-peering) now running.
    http_servers: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Background tasks: expiry sweep, webhook delivery, mock operator.
    tasks: Vec<JoinHandle<()>>,
    /// Counters of webhook delivery, when `WEBHOOK_URL` is set.
    webhook_stats: Option<Arc<DeliveryStats>>,
    /// The mock operator's account holders, when it runs (`MOCK_OPERATOR`).
    operator_books: Option<Arc<events::mock_operator::OperatorBooks>>,
}

impl Node {
    /// Binds every port (0 picks a free one), then serves. Fails before serving anything if a
    /// port cannot be bound.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let admin_listener = bind(config.bind_address, config.admin_port, "ADMIN_PORT").await?;
        let connector_listener =
            bind(config.bind_address, config.connector_port, "CONNECTOR_PORT").await?;
        // Every port is bound before anything is served, so a failure leaves nothing running.
        let open_payments_listener = bind(
            config.bind_address,
            config.open_payments_port,
            "OPEN_PAYMENTS_PORT",
        )
        .await?;
        let auto_peering_listener = if config.enable_auto_peering {
            let port = config.auto_peering_server_port;
            Some(bind(config.bind_address, port, "AUTO_PEERING_SERVER_PORT").await?)
        } else {
            None
        };
        let admin_addr = local_addr(&admin_listener, "ADMIN_PORT")?;
        let connector_addr = local_addr(&connector_listener, "CONNECTOR_PORT")?;
        let auto_peering_addr = auto_peering_listener
            .as_ref()
            .map(|listener| local_addr(listener, "AUTO_PEERING_SERVER_PORT"))
            .transpose()?;
        let connector_url = match &config.ilp_connector_url {
            Some(url) => url.clone(),
            None => reachable_url(connector_addr)?,
        };
        let open_payments_addr = local_addr(&open_payments_listener, "OPEN_PAYMENTS_PORT")?;
        let open_payments_url = match &config.open_payments_url {
            Some(url) => url.clone(),
            None => reachable_url(open_payments_addr)?,
        };

        let instance = Arc::new(Instance::new(InstanceSettings {
            ilp_address: config.ilp_address.clone(),
            instance_name: config.instance_name.clone(),
            open_payments_url: open_payments_url.clone(),
        }));
        let auto_peering = Arc::new(AutoPeering::new(instance.clone(), connector_url.clone()));
        let mut settings = ConnectorSettings::new(config.two_phase_timeout);
        settings.rate_limit_per_second = config.packet_rate_limit_per_second;
        settings.exchange_rates = config.exchange_rates;
        settings.stream_secret = config.stream_secret.clone();
        let connector = Arc::new(Connector::new(instance.clone(), settings));
        let payments = Payments::new(connector.clone());
        // Made before the admin API, which reads it; its task starts with the others below.
        let operator_books = config
            .mock_operator
            .then(|| Arc::new(events::mock_operator::OperatorBooks::default()));
        let schema = admin::schema(
            admin::AdminServices {
                instance: instance.clone(),
                payments: payments.clone(),
                auto_peering: auto_peering.clone(),
                connector: connector.clone(),
                mock_operator: admin::peerlab::MockOperator(operator_books.clone()),
            },
            config.admin_api_dialect,
        );
        let admin_service = admin::http::AdminService::new(
            schema,
            admin::http::AdminAuth {
                api_secret: config.api_secret,
                signature_policy: config.signature_policy,
                operator_tenant_id: config.operator_tenant_id,
            },
        );
        // The dashboard shares the admin port: `GET /` and its pages, beside `/graphql`.
        let dashboard = crate::dashboard::Dashboard::new(
            admin_service.clone(),
            crate::dashboard::layout::Identity {
                name: config.instance_name.clone(),
                ilp_address: config.ilp_address.to_string(),
            },
        );
        let admin_app =
            admin::http::router(admin_service).merge(crate::dashboard::router(dashboard));
        let (shutdown, _) = watch::channel(false);
        let serving = Serving {
            admin: admin_app,
            open_payments: openpayments::http::router(OpenPayments::new(
                instance.clone(),
                connector.receiver().clone(),
            )),
            auto_peering: auto_peering_listener
                .as_ref()
                .map(|_| autopeer::server::router(auto_peering.clone())),
            connector: connector.clone(),
            http: config.http,
        };
        let http_servers = serving.spawn(
            Listeners {
                admin: admin_listener,
                connector: connector_listener,
                open_payments: open_payments_listener,
                auto_peering: auto_peering_listener,
            },
            &shutdown,
        );
        if serving.auto_peering.is_some() {
            tracing::warn!(
                "auto-peering is enabled: it is meant for sandbox environments only, never production"
            );
        }
        let mut servers = Vec::new();
        servers.push(tokio::spawn(sweep_expired_incoming_payments(
            instance.clone(),
            shutdown.subscribe(),
        )));
        let webhook_stats = config.webhook.map(|settings| {
            tracing::info!(url = %settings.url, "webhook events are POSTed");
            let delivery =
                WebhookDelivery::spawn(instance.subscribe_events(), settings, shutdown.subscribe());
            servers.push(delivery.task);
            delivery.stats
        });
        if let Some(books) = &operator_books {
            servers.push(tokio::spawn(events::mock_operator::run(
                payments.clone(),
                books.clone(),
                instance.subscribe_events(),
                shutdown.subscribe(),
            )));
        }
        if config.mock_operator {
            tracing::info!("mock operator on: outgoing payments are funded as they are created");
        }
        let node = Self {
            instance,
            connector,
            auto_peering_addr,
            admin_addr,
            connector_addr,
            connector_url,
            open_payments_url,
            open_payments_addr,
            shutdown,
            serving,
            http_servers: std::sync::Mutex::new(http_servers),
            tasks: servers,
            webhook_stats,
            operator_books,
        };
        tracing::info!(
            ilp_address = %config.ilp_address,
            dashboard = %format!("{}/", node.admin_url()),
            admin = %node.graphql_url(),
            connector = %node.connector_url,
            open_payments = %node.open_payments_url,
            auto_peering = %node.auto_peering_url().unwrap_or_else(|| "off".to_owned()),
            admin_api_dialect = %config.admin_api_dialect,
            "instance {} is up",
            config.instance_name
        );
        Ok(node)
    }

    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// The packet pipeline, callable without HTTP.
    pub fn connector(&self) -> &Arc<Connector> {
        &self.connector
    }

    pub fn ilp_address(&self) -> &Address {
        &self.instance.settings().ilp_address
    }

    /// `http://<admin address>`: GraphQL is at `/graphql`, health at `/healthz`.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin_addr)
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.admin_url())
    }

    /// The URL peers use to reach this connector (`ILP_CONNECTOR_URL`).
    pub fn connector_url(&self) -> &Url {
        &self.connector_url
    }

    /// The URL wallet addresses live under (`OPEN_PAYMENTS_URL`).
    pub fn open_payments_url(&self) -> &Url {
        &self.open_payments_url
    }

    pub fn connector_addr(&self) -> SocketAddr {
        self.connector_addr
    }

    /// The auto-peering server's URL (`POST /`), when `ENABLE_AUTO_PEERING` is on.
    pub fn auto_peering_url(&self) -> Option<String> {
        self.auto_peering_addr
            .and_then(|addr| reachable_url(addr).ok())
            .map(String::from)
    }

    /// What webhook delivery did so far, when `WEBHOOK_URL` is set.
    pub fn webhook_stats(&self) -> Option<&Arc<DeliveryStats>> {
        self.webhook_stats.as_ref()
    }

    /// The mock operator's books of account holders' balances, when it runs.
    pub fn operator_books(&self) -> Option<&Arc<events::mock_operator::OperatorBooks>> {
        self.operator_books.as_ref()
    }

    /// Stops accepting, lets open requests finish (for at most a few seconds), and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let http_servers = std::mem::take(
            &mut *self
                .http_servers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for server in http_servers.into_iter().chain(self.tasks) {
            if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                tracing::warn!("a server did not stop within {SHUTDOWN_GRACE:?}");
            }
        }
    }
}

impl Node {
    /// Stops serving at once, as a crash would: every listener closes and every open connection
    /// is dropped, requests in flight included (their packets' reservations are voided). The
    /// instance's state stays, as a restarted Rafiki's database does.
    pub async fn stop_serving(&self) {
        let servers = std::mem::take(
            &mut *self
                .http_servers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for server in servers {
            server.abort();
            let _ = server.await;
        }
    }

    /// Serves again on the same addresses after [`Node::stop_serving`]. Binding is retried for
    /// a moment, as the stopped listeners' ports are released.
    pub async fn serve_again(&self) -> Result<(), StartError> {
        let listeners = Listeners {
            admin: rebind(self.admin_addr, "ADMIN_PORT").await?,
            connector: rebind(self.connector_addr, "CONNECTOR_PORT").await?,
            open_payments: rebind(self.open_payments_addr, "OPEN_PAYMENTS_PORT").await?,
            auto_peering: match self.auto_peering_addr {
                Some(addr) => Some(rebind(addr, "AUTO_PEERING_SERVER_PORT").await?),
                None => None,
            },
        };
        let servers = self.serving.spawn(listeners, &self.shutdown);
        self.http_servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(servers);
        Ok(())
    }
}

/// What an instance serves over HTTP.
#[derive(Debug)]
struct Serving {
    admin: axum::Router,
    open_payments: axum::Router,
    auto_peering: Option<axum::Router>,
    connector: Arc<Connector>,
    http: http_server::ServerSettings,
}

/// The listeners each server takes.
struct Listeners {
    admin: Listener,
    connector: Listener,
    open_payments: Listener,
    auto_peering: Option<Listener>,
}

impl Serving {
    fn spawn(&self, listeners: Listeners, shutdown: &watch::Sender<bool>) -> Vec<JoinHandle<()>> {
        let mut servers = vec![
            tokio::spawn(http_server::serve_router(
                listeners.admin,
                self.admin.clone(),
                self.http,
                shutdown.subscribe(),
            )),
            tokio::spawn(connector::http::serve(
                listeners.connector,
                self.connector.clone(),
                self.http,
                shutdown.subscribe(),
            )),
            tokio::spawn(http_server::serve_router(
                listeners.open_payments,
                self.open_payments.clone(),
                self.http,
                shutdown.subscribe(),
            )),
        ];
        if let (Some(listener), Some(router)) = (listeners.auto_peering, &self.auto_peering) {
            servers.push(tokio::spawn(http_server::serve_router(
                listener,
                router.clone(),
                self.http,
                shutdown.subscribe(),
            )));
        }
        servers
    }
}

/// Binds `addr` again, retrying for up to a second while the port is still being released.
async fn rebind(addr: SocketAddr, variable: &'static str) -> Result<Listener, StartError> {
    let mut tries = 0;
    loop {
        match crate::net::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && tries < 20 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(source) => {
                return Err(StartError::Bind {
                    variable,
                    addr,
                    source,
                });
            }
        }
    }
}

/// Expires incoming payments as their time passes, so that `incoming_payment.expired` is
/// recorded even when nobody reads the payment.
async fn sweep_expired_incoming_payments(
    instance: Arc<Instance>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks =
        tokio::time::interval(crate::instance::incoming_payments::EXPIRY_SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = ticks.tick() => {
                instance.expire_incoming_payments();
            }
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

async fn bind(ip: IpAddr, port: u16, variable: &'static str) -> Result<Listener, StartError> {
    let addr = SocketAddr::new(ip, port);
    crate::net::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            variable,
            addr,
            source,
        })
}

fn local_addr(listener: &Listener, variable: &'static str) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Bind {
        variable,
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        source,
    })
}

/// A URL other processes on this machine can use: an unspecified bind address becomes loopback.
fn reachable_url(addr: SocketAddr) -> Result<Url, StartError> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Url::parse(&format!("http://{}", SocketAddr::new(ip, addr.port())))
        .map_err(|_| StartError::ConnectorUrl(addr))
}
