//! The sender's side of one STREAM connection, without I/O: it numbers and seals the packets
//! (probes, money, close) and reads what came back into what the sender should do about it.

use std::time::Duration;

use crate::ilp::stream::{Frame, SharedSecret, StreamErrorCode, StreamPacket, random_condition};
use crate::ilp::{
    Address, AmountTooLargeData, BuildError, ErrorClass, ErrorCode, PacketType, Prepare, Reply,
    Timestamp,
};
use crate::stream::ReceivingAddress;

/// The one stream money goes on (client streams are odd; the first is 1).
const MONEY_STREAM: u64 = 1;

/// An asset as STREAM and IL-DCP describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDetails {
    pub code: String,
    pub scale: u8,
}

/// A Reject as the sender reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectInfo {
    pub code: ErrorCode,
    pub message: String,
    pub triggered_by: Option<Address>,
}

/// The receiver's own answer (the STREAM packet in a Fulfill or an F99), once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReply {
    /// What arrived at the receiver, in its asset.
    pub arrived: u64,
    /// The receiver closed the connection.
    pub closed: bool,
    /// The receiver's asset, when it told it (in reply to ConnectionNewAddress).
    pub asset: Option<AssetDetails>,
}

/// What a reply means for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The money arrived. The receiver's reply is `None` when it sent nothing readable (the
    /// fulfillment proves the receiver accepted the packet's minimum).
    Fulfilled(Option<ReceiverReply>),
    /// A fulfillment that does not match the condition: the next hop broke the protocol.
    WrongFulfillment,
    Rejected {
        reject: RejectInfo,
        reaction: Reaction,
    },
}

/// How the sender reacts to a Reject (reference/ilp.md §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// F99 carrying the receiver's authenticated STREAM reply.
    Receiver(ReceiverReply),
    /// F08: send smaller packets; the connector's figures when it gave them.
    Shrink(Option<AmountTooLargeData>),
    /// T04: the path is short of liquidity; wait and send again.
    WaitForLiquidity,
    /// Any other T-class code: retry after a backoff.
    Retry,
    /// R-class, other F-class codes, unknown classes, and F99 not from the receiver.
    Stop,
}

/// A money packet on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentPacket {
    pub sequence: u64,
    pub amount: u64,
    /// The STREAM `prepareAmount`: the least the receiver may accept.
    pub minimum: u64,
    pub condition: [u8; 32],
}

/// One STREAM connection from `source` to a receiving address.
#[derive(Debug)]
pub struct Connection {
    destination: Address,
    shared_secret: SharedSecret,
    source: Address,
    packet_lifetime: Duration,
    last_sequence: u64,
    /// The sending instance's clock, from which expiries are reckoned.
    clock: crate::clock::Clock,
}

impl Connection {
    /// A connection whose packets expire `packet_lifetime` after they are made.
    pub fn new(receiving: ReceivingAddress, source: Address, packet_lifetime: Duration) -> Self {
        Self {
            destination: receiving.destination,
            shared_secret: receiving.shared_secret,
            source,
            packet_lifetime,
            last_sequence: 0,
            clock: crate::clock::Clock::default(),
        }
    }

    /// The same connection with packets' expiries reckoned on `clock` (the sending instance's).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same connection's packets after `last_sequence` (e.g. a payment after its rate
    /// probe): sequence numbers keep growing, as one STREAM connection's do.
    pub fn continuing(mut self, last_sequence: u64) -> Self {
        self.last_sequence = last_sequence;
        self
    }

    /// The sender's address, as IL-DCP gave it.
    pub fn source(&self) -> &Address {
        &self.source
    }

    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    fn next_sequence(&mut self) -> u64 {
        self.last_sequence += 1;
        self.last_sequence
    }

    fn prepare(
        &mut self,
        amount: u64,
        prepare_amount: u64,
        frames: Vec<Frame>,
        fulfillable: bool,
    ) -> Result<(u64, [u8; 32], Prepare), BuildError> {
        let sequence = self.next_sequence();
        let data = StreamPacket {
            sequence,
            ilp_packet_type: PacketType::Prepare,
            prepare_amount,
            frames,
        }
        .encrypt(&self.shared_secret);
        let condition = if fulfillable {
            self.shared_secret.condition(&data)
        } else {
            random_condition()
        };
        let expires_at = Timestamp::now_on(&self.clock).saturating_add(self.packet_lifetime);
        let prepare = Prepare::new(
            self.destination.clone(),
            amount,
            expires_at,
            condition,
            data,
        )?;
        Ok((sequence, condition, prepare))
    }

    /// A rate probe of `amount`: a random condition, so no one can fulfill it, and the receiver
    /// answers F99 with what arrived. While the receiver's asset is unknown, it carries our
    /// address (and asset), which makes the receiver name its asset.
    pub fn probe(
        &mut self,
        amount: u64,
        ask_for_asset: Option<&AssetDetails>,
    ) -> Result<(u64, Prepare), BuildError> {
        let frames = match ask_for_asset {
            Some(own) => vec![
                Frame::ConnectionNewAddress {
                    source_account: self.source.as_str().to_owned(),
                },
                Frame::ConnectionAssetDetails {
                    source_asset_code: own.code.clone(),
                    source_asset_scale: own.scale,
                },
            ],
            None => Vec::new(),
        };
        let (sequence, _, prepare) = self.prepare(amount, 0, frames, false)?;
        Ok((sequence, prepare))
    }

    /// A packet carrying `amount` on the money stream that the receiver fulfills when at least
    /// `minimum` arrives.
    pub fn money(
        &mut self,
        amount: u64,
        minimum: u64,
    ) -> Result<(SentPacket, Prepare), BuildError> {
        let frames = vec![Frame::StreamMoney {
            stream_id: MONEY_STREAM,
            shares: 1,
        }];
        let (sequence, condition, prepare) = self.prepare(amount, minimum, frames, true)?;
        Ok((
            SentPacket {
                sequence,
                amount,
                minimum,
                condition,
            },
            prepare,
        ))
    }

    /// The 0-amount packet that tells the receiver the connection is over.
    pub fn close(&mut self, code: StreamErrorCode, message: &str) -> Result<Prepare, BuildError> {
        let frames = vec![Frame::ConnectionClose {
            code,
            message: message.to_owned(),
        }];
        self.prepare(0, 0, frames, false)
            .map(|(_, _, prepare)| prepare)
    }

    /// What the reply to packet `sequence` means. `condition` is the packet's when it was
    /// fulfillable (a money packet); a Fulfill for a probe is checked against nothing, since a
    /// random condition cannot be fulfilled by anyone honest.
    pub fn read(&self, sequence: u64, reply: &Reply, condition: Option<&[u8; 32]>) -> Answer {
        match reply {
            Reply::Fulfill(fulfill) => {
                if condition.is_none_or(|condition| !fulfill.matches(condition)) {
                    return Answer::WrongFulfillment;
                }
                Answer::Fulfilled(self.receiver_reply(
                    sequence,
                    PacketType::Fulfill,
                    fulfill.data(),
                ))
            }
            Reply::Reject(reject) => {
                let code = reject.code();
                let reaction = match code {
                    ErrorCode::F99ApplicationError => {
                        match self.receiver_reply(sequence, PacketType::Reject, reject.data()) {
                            Some(answer) => Reaction::Receiver(answer),
                            // An F99 someone else sent: an application error on the path.
                            None => Reaction::Stop,
                        }
                    }
                    ErrorCode::F08AmountTooLarge => {
                        Reaction::Shrink(AmountTooLargeData::decode(reject.data()))
                    }
                    ErrorCode::T04InsufficientLiquidity => Reaction::WaitForLiquidity,
                    code if code.class() == ErrorClass::Temporary => Reaction::Retry,
                    _ => Reaction::Stop,
                };
                Answer::Rejected {
                    reject: RejectInfo {
                        code,
                        message: reject.message().to_owned(),
                        triggered_by: reject.triggered_by().cloned(),
                    },
                    reaction,
                }
            }
        }
    }

    /// The receiver's STREAM reply in `data`, if it is one for packet `sequence` carried by the
    /// right ILP packet type; anything else is not the receiver's (or not for this packet).
    fn receiver_reply(
        &self,
        sequence: u64,
        carrier: PacketType,
        data: &[u8],
    ) -> Option<ReceiverReply> {
        let packet = StreamPacket::decrypt(&self.shared_secret, data).ok()?;
        if packet.sequence != sequence || packet.ilp_packet_type != carrier {
            return None;
        }
        let mut reply = ReceiverReply {
            arrived: packet.prepare_amount,
            closed: false,
            asset: None,
        };
        for frame in packet.frames {
            match frame {
                Frame::ConnectionClose { .. } => reply.closed = true,
                Frame::ConnectionAssetDetails {
                    source_asset_code,
                    source_asset_scale,
                } => {
                    reply.asset.get_or_insert(AssetDetails {
                        code: source_asset_code,
                        scale: source_asset_scale,
                    });
                }
                _ => {}
            }
        }
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ilp::{Fulfill, Reject};

    const SECRET: [u8; 32] = [7; 32];

    fn connection() -> Connection {
        Connection::new(
            ReceivingAddress {
                destination: Address::parse("test.b.token").unwrap(),
                shared_secret: SharedSecret::new(SECRET),
            },
            Address::parse("test.a.alice").unwrap(),
            Duration::from_secs(30),
        )
    }

    /// What a receiver holding the secret answers.
    fn receiver_reply(
        sequence: u64,
        carrier: PacketType,
        arrived: u64,
        frames: Vec<Frame>,
    ) -> Vec<u8> {
        StreamPacket {
            sequence,
            ilp_packet_type: carrier,
            prepare_amount: arrived,
            frames,
        }
        .encrypt(&SharedSecret::new(SECRET))
    }

    fn reject(code: ErrorCode, data: Vec<u8>) -> Reply {
        Reply::Reject(
            Reject::new(code, Some(Address::parse("test.b").unwrap()), "why", data).unwrap(),
        )
    }

    #[test]
    fn money_packets_are_fulfillable_by_the_secret_and_carry_their_minimum() {
        let mut connection = connection();
        let (sent, prepare) = connection.money(100, 99).unwrap();
        assert_eq!((sent.sequence, sent.amount, sent.minimum), (1, 100, 99));
        let secret = SharedSecret::new(SECRET);
        assert_eq!(
            prepare.execution_condition(),
            &secret.condition(prepare.data())
        );
        assert_eq!(prepare.amount(), 100);
        let inner = StreamPacket::decrypt(&secret, prepare.data()).unwrap();
        assert_eq!(inner.prepare_amount, 99);
        assert_eq!(
            inner.frames,
            vec![Frame::StreamMoney {
                stream_id: 1,
                shares: 1
            }]
        );
        let expires_in = prepare.expires_at().duration_since(Timestamp::now());
        assert!(expires_in > Duration::from_secs(29), "{expires_in:?}");
    }

    #[test]
    fn probes_cannot_be_fulfilled_and_ask_for_the_asset_until_told() {
        let mut connection = connection();
        let usd = AssetDetails {
            code: "USD".into(),
            scale: 2,
        };
        let (first, asking) = connection.probe(1000, Some(&usd)).unwrap();
        let (second, silent) = connection.probe(1000, None).unwrap();
        assert_eq!((first, second), (1, 2));
        let secret = SharedSecret::new(SECRET);
        assert_ne!(
            asking.execution_condition(),
            &secret.condition(asking.data())
        );
        let frames = StreamPacket::decrypt(&secret, asking.data())
            .unwrap()
            .frames;
        assert!(frames.contains(&Frame::ConnectionNewAddress {
            source_account: "test.a.alice".into()
        }));
        assert!(
            StreamPacket::decrypt(&secret, silent.data())
                .unwrap()
                .frames
                .is_empty()
        );
    }

    #[test]
    fn a_fulfill_counts_what_the_receiver_says_arrived() {
        let mut connection = connection();
        let (sent, prepare) = connection.money(100, 90).unwrap();
        let fulfillment = SharedSecret::new(SECRET).fulfillment(prepare.data());
        let data = receiver_reply(sent.sequence, PacketType::Fulfill, 91, Vec::new());
        let reply = Reply::Fulfill(Fulfill::new(fulfillment, data).unwrap());
        assert_eq!(
            connection.read(sent.sequence, &reply, Some(&sent.condition)),
            Answer::Fulfilled(Some(ReceiverReply {
                arrived: 91,
                closed: false,
                asset: None
            }))
        );
        // A reply for another sequence is not this packet's: the Fulfill still counts.
        assert_eq!(
            connection.read(sent.sequence + 1, &reply, Some(&sent.condition)),
            Answer::Fulfilled(None)
        );
        let wrong = Reply::Fulfill(Fulfill::new([0; 32], Vec::new()).unwrap());
        assert_eq!(
            connection.read(sent.sequence, &wrong, Some(&sent.condition)),
            Answer::WrongFulfillment
        );
        assert_eq!(
            connection.read(sent.sequence, &reply, None),
            Answer::WrongFulfillment
        );
    }

    #[test]
    fn an_f99_is_the_receivers_only_when_it_opens_with_the_secret() {
        let connection = connection();
        let details = Frame::ConnectionAssetDetails {
            source_asset_code: "EUR".into(),
            source_asset_scale: 2,
        };
        let data = receiver_reply(3, PacketType::Reject, 910, vec![details]);
        let Answer::Rejected {
            reaction,
            reject: info,
        } = connection.read(
            3,
            &reject(ErrorCode::F99ApplicationError, data.clone()),
            None,
        )
        else {
            panic!("a Reject")
        };
        assert_eq!(info.code, ErrorCode::F99ApplicationError);
        assert_eq!(
            reaction,
            Reaction::Receiver(ReceiverReply {
                arrived: 910,
                closed: false,
                asset: Some(AssetDetails {
                    code: "EUR".into(),
                    scale: 2
                })
            })
        );
        let reaction_to = |reply: Reply| match connection.read(3, &reply, None) {
            Answer::Rejected { reaction, .. } => reaction,
            other => panic!("{other:?}"),
        };
        // Sealed for a Fulfill, another sequence, or not sealed at all: someone else's F99.
        let as_fulfill = receiver_reply(3, PacketType::Fulfill, 910, Vec::new());
        assert_eq!(
            reaction_to(reject(ErrorCode::F99ApplicationError, as_fulfill)),
            Reaction::Stop
        );
        assert_eq!(
            reaction_to(reject(
                ErrorCode::F99ApplicationError,
                receiver_reply(4, PacketType::Reject, 1, Vec::new())
            )),
            Reaction::Stop
        );
        assert_eq!(
            reaction_to(reject(ErrorCode::F99ApplicationError, b"junk".to_vec())),
            Reaction::Stop
        );
        let closing = receiver_reply(
            3,
            PacketType::Reject,
            0,
            vec![Frame::ConnectionClose {
                code: StreamErrorCode::NoError,
                message: String::new(),
            }],
        );
        assert!(matches!(
            reaction_to(reject(ErrorCode::F99ApplicationError, closing)),
            Reaction::Receiver(ReceiverReply { closed: true, .. })
        ));
    }

    #[test]
    fn rejects_map_to_reactions_by_code_and_class() {
        let connection = connection();
        let reaction_to =
            |code: ErrorCode, data: Vec<u8>| match connection.read(1, &reject(code, data), None) {
                Answer::Rejected { reaction, .. } => reaction,
                other => panic!("{other:?}"),
            };
        let too_large = AmountTooLargeData {
            received_amount: 1000,
            maximum_amount: 100,
        };
        assert_eq!(
            reaction_to(ErrorCode::F08AmountTooLarge, too_large.encode().to_vec()),
            Reaction::Shrink(Some(too_large))
        );
        assert_eq!(
            reaction_to(ErrorCode::F08AmountTooLarge, Vec::new()),
            Reaction::Shrink(None)
        );
        assert_eq!(
            reaction_to(ErrorCode::T04InsufficientLiquidity, Vec::new()),
            Reaction::WaitForLiquidity
        );
        for code in [
            ErrorCode::T00InternalError,
            ErrorCode::T01PeerUnreachable,
            ErrorCode::T05RateLimited,
        ] {
            assert_eq!(reaction_to(code, Vec::new()), Reaction::Retry, "{code}");
        }
        for code in [
            ErrorCode::F02Unreachable,
            ErrorCode::F06UnexpectedPayment,
            ErrorCode::R00TransferTimedOut,
            ErrorCode::R01InsufficientSourceAmount,
            ErrorCode::Other(*b"X00"),
        ] {
            assert_eq!(reaction_to(code, Vec::new()), Reaction::Stop, "{code}");
        }
    }

    #[test]
    fn the_close_packet_moves_nothing_and_says_close() {
        let mut connection = connection();
        let prepare = connection.close(StreamErrorCode::NoError, "").unwrap();
        assert_eq!(prepare.amount(), 0);
        let inner = StreamPacket::decrypt(&SharedSecret::new(SECRET), prepare.data()).unwrap();
        assert!(matches!(inner.frames[..], [Frame::ConnectionClose { .. }]));
    }
}
