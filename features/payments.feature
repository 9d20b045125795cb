@embedded-only
Feature: Payments across a peering, as Rafiki's integration suite makes them
  An operator pays a wallet address at its peer with the operations it would send to Rafiki:
  createReceiver (the incoming payment is created at the peer over Open Payments), createQuote
  (a STREAM rate probe), createOutgoingPayment, then depositOutgoingPaymentLiquidity. The payment
  goes FUNDING, SENDING, COMPLETED, and every hop's liquidity moves by exactly what was paid.

  Scenario: Peer to peer, 500 USD
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    Then the answer is "200" "Created receiver"
    When "cloud" quotes paying the receiver from "alice"
    Then the answer is "200" "Created quote"
    And the quote debits 506 USD and receives 500 USD
    When "cloud" creates the outgoing payment from "alice" with the quote
    Then the answer is "200" "Created outgoing payment"
    And the outgoing payment is FUNDING
    When the outgoing payment is funded
    Then the answer is "200" "Deposited liquidity"
    And the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And "cloud" grants "happy" 10000500
    And "happy" grants "cloud" 9999500
    And no liquidity is held by packets in flight

  Scenario: Cross currency: 500 EUR received at 0.91 EUR per USD
    Given instances "cloud" and "happy" peered in USD with 10000000 of liquidity each way, "happy" also holding EUR at 0.91 per USD
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in EUR
    When "cloud" creates a receiver for "bob" at "happy"
    And "cloud" quotes paying the receiver from "alice" to receive 500 EUR
    Then the quote debits 556 USD and receives 500 EUR
    When "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 550 USD
    And the incoming payment is PROCESSING having received 500 EUR
    And "cloud" grants "happy" 10000550
    And no liquidity is held by packets in flight

  Scenario: Fixed send: exactly 500 USD leaves
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy"
    And "cloud" quotes paying the receiver from "alice" to send 500 USD
    Then the quote debits 500 USD and receives 495 USD
    When "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is PROCESSING having received 500 USD

  Scenario: Two outgoing payments into one incoming payment
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy" expecting 1000 USD
    And "cloud" quotes paying the receiver from "alice" to receive 500 USD
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    When "cloud" quotes paying the receiver from "alice" to receive 500 USD
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 1000 USD

  Scenario: An outgoing payment straight from an incoming payment
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy" expecting 700 USD
    And "cloud" creates an outgoing payment from "alice" straight from the receiver
    Then the answer is "200" "Created outgoing payment"
    When the outgoing payment is funded
    Then the outgoing payment completes having sent 700 USD
    And the incoming payment is COMPLETED having received 700 USD

  Scenario: A payment to a peer's peer goes through the instance between them
    Given instances "cloud", "global" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And "cloud" grants "global" 10000500
    And "global" grants "cloud" 9999500
    And "global" grants "happy" 10000500
    And "happy" grants "global" 9999500
    And no liquidity is held by packets in flight

  Scenario: A payment that meets T04 waits, and completes once liquidity is deposited
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    And "happy" lets "cloud" send only 100 more
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment is still SENDING after 0.5 seconds
    When "happy" adds 10000 to the liquidity it grants "cloud"
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And no liquidity is held by packets in flight

  Scenario: A receiver at an unknown wallet address is refused and nothing moves
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    When "cloud" creates a receiver for "nobody" at "happy" expecting 500 USD
    Then the answer is "404" "unknown wallet address", today NOT_FOUND "unknown wallet address"
    And "cloud" grants "happy" 10000000

  Scenario: A payment cannot be funded twice
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    And the outgoing payment is funded
    Then the answer is "409" "wrong state", today CONFLICT "wrong state"
    And the outgoing payment completes having sent 500 USD
    And "cloud" grants "happy" 10000500

  Scenario: A quote for a completed incoming payment is refused
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    And "cloud" has paid "bob" at "happy" 300 USD from "alice" with a quote, an outgoing payment and its funding
    When "cloud" quotes paying the receiver from "alice" to send 100 USD
    Then the answer is "400" "invalid receiver", today BAD_USER_INPUT "invalid receiver"
    And "cloud" grants "happy" 10000300

  Scenario: Each side records its events in order, and a peer's liquidity running low is one of them
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    And "happy" is warned when the liquidity it grants "cloud" falls to 9999600
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And "cloud" has recorded the events "outgoing_payment.created, outgoing_payment.completed"
    And "happy" has recorded the events "incoming_payment.created, peer.liquidity_low, incoming_payment.completed"
    And the "peer.liquidity_low" event of "happy" is about its peer "cloud" with a balance of 9999500
