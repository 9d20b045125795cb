//! Instances on a simulated network (issue 15's groundwork): the same nodes, servers and clients,
//! joined by in-memory pipes instead of sockets, on one thread. A line of three is built through
//! the admin API and a packet crosses it, all without a socket.

use std::time::Duration;

use peerlab::connector::client::OutgoingClient;
use peerlab::ilp::{Address, ErrorCode, Reply};
use peerlab::net::{SimulatedNetwork, install_on_this_thread};
use peerlab_simulator::{Network, PeerSettings, paying_prepare};

#[test]
fn a_line_of_instances_runs_on_a_simulated_network() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let _network = install_on_this_thread(SimulatedNetwork::new());
        let line = Network::line(&["a", "b", "c"], ("USD", 2), 1_000_000)
            .await
            .expect("the line starts on the simulated network");
        let a = line.instance("a").expect("a");
        // Ports come from the simulated network's counter, in order, not from the kernel.
        assert!(
            a.connector_url().starts_with("http://127.0.0.1:10"),
            "{}",
            a.connector_url()
        );
        a.admin()
            .create_peer(
                &PeerSettings::new(
                    "test.client",
                    a.asset_id("USD").expect("USD"),
                    "client-token",
                    "http://127.0.0.1:9/",
                )
                .liquidity(1_000),
            )
            .await
            .expect("a client peer");
        let destination = Address::parse("test.c.nobody").expect("an address");
        let prepare = paying_prepare(&destination, 10, Duration::from_secs(5));
        let reply = OutgoingClient::default()
            .send(&a.connector_url(), "client-token", prepare.encode())
            .await
            .expect("a answers");
        let Reply::Reject(reject) = reply else {
            panic!("fulfilled: {reply:?}")
        };
        // Refused by c, the end of the line: the packet crossed a and b to get there.
        assert_eq!(reject.code(), ErrorCode::F02Unreachable, "{reject:?}");
        assert_eq!(reject.triggered_by().map(Address::as_str), Some("test.c"));
        line.shutdown().await;
    });
}
