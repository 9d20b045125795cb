//! Payments above the packet path, as Rafiki's admin API makes them: receivers (incoming payments
//! here or at another Open Payments server), quotes (a STREAM rate probe), and outgoing payments
//! (paid by the STREAM sender from the payment's own account, through this instance's packet
//! path). The records live in [`crate::instance`]; this layer does what needs I/O and time.

pub mod outgoing;
pub mod quotes;
pub mod receiver;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::connector::Connector;
use crate::instance::Instance;
use crate::stream::sender::Ratio;

/// How many outgoing payments are paid at once; more wait their turn, SENDING.
const MAX_PAYMENTS_IN_FLIGHT: usize = 1_000;

/// The payments service of one instance.
#[derive(Debug)]
pub struct Payments {
    connector: Arc<Connector>,
    open_payments: receiver::OpenPaymentsClient,
    sending: Arc<Semaphore>,
    /// How much worse than the quoted rate a packet may arrive: Rafiki's 1%.
    slippage: Ratio,
}

impl Payments {
    pub fn new(connector: Arc<Connector>) -> Arc<Self> {
        Arc::new(Self {
            connector,
            open_payments: receiver::OpenPaymentsClient::default(),
            sending: Arc::new(Semaphore::new(MAX_PAYMENTS_IN_FLIGHT)),
            slippage: Ratio::percent(1),
        })
    }

    pub fn instance(&self) -> &Arc<Instance> {
        self.connector.instance()
    }

    pub fn connector(&self) -> &Arc<Connector> {
        &self.connector
    }

    /// `createReceiver`: the incoming payment at the wallet address's instance, here or over
    /// Open Payments.
    pub async fn create_receiver(
        &self,
        new: receiver::NewReceiver,
    ) -> Result<receiver::ReceiverRecord, receiver::ReceiverError> {
        receiver::create_receiver(self.instance(), &self.open_payments, new).await
    }

    /// The receiver at `url`: a local incoming payment or one read over Open Payments.
    pub async fn receiver(
        &self,
        url: &str,
    ) -> Result<receiver::ReceiverRecord, receiver::ReceiverError> {
        receiver::receiver(self.instance(), &self.open_payments, url).await
    }
}
