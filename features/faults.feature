@embedded-only
Feature: Payments across a link that fails
  A peering breaks while a payment crosses it: the link is cut, the receiving instance stops as
  in a crash, the link answers errors or is slow, or the sending side presents a wrong token. The payment waits and retries, and completes once the
  link is back; no money is lost or created on the way. Packets may also be delivered out of
  order or twice, their replies may be cut off after the receiver processed them, and an
  instance's clock may be off: both sides of the peering still end agreeing on what was paid.

  Background:
    Given instances "cloud" and "happy" peered in a line with 10000000 of liquidity each way
    And "cloud" has the wallet address "alice" in USD
    And "happy" has the wallet address "bob" in USD
    And the link from "cloud" to "happy" runs through a fault proxy

  Scenario: A payment across a cut link completes once the link heals
    When "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the link from "cloud" to "happy" is cut
    And the outgoing payment is funded
    Then the outgoing payment is still SENDING after 0.3 seconds
    When the link from "cloud" to "happy" heals after 0.2 seconds
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And "cloud" grants "happy" 10000500
    And no liquidity is held by packets in flight

  Scenario: The receiving instance stops mid-payment and the payment completes once it is back
    When "cloud" creates a receiver for "bob" at "happy" expecting 700 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And "happy" stops at once, as a crash
    And the outgoing payment is funded
    Then the outgoing payment is still SENDING after 0.3 seconds
    When "happy" serves again after 0.2 seconds
    Then the outgoing payment completes having sent 700 USD
    And the incoming payment is COMPLETED having received 700 USD
    And "cloud" grants "happy" 10000700
    And "happy" grants "cloud" 9999300
    And no liquidity is held by packets in flight

  Scenario: A peer answering HTTP 500 for a while does not lose the payment
    When "cloud" creates a receiver for "bob" at "happy" expecting 300 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the link from "cloud" to "happy" answers HTTP 500
    And the outgoing payment is funded
    And the link from "cloud" to "happy" heals after 0.3 seconds
    Then the outgoing payment completes having sent 300 USD
    And "happy" grants "cloud" 9999700
    And no liquidity is held by packets in flight

  Scenario: A slow link slows the payment but it completes
    When the link from "cloud" to "happy" is slowed by 100 ms
    And "cloud" creates a receiver for "bob" at "happy" expecting 400 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 400 USD
    And the incoming payment is COMPLETED having received 400 USD

  Scenario: A wrong token stalls the payment until the right one is back
    When "cloud" creates a receiver for "bob" at "happy" expecting 200 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And "cloud" presents a wrong token to "happy"
    And the outgoing payment is funded
    Then the outgoing payment is still SENDING after 0.3 seconds
    When "cloud" presents its right token to "happy" again after 0.1 seconds
    Then the outgoing payment completes having sent 200 USD
    And "cloud" grants "happy" 10000200
    And no liquidity is held by packets in flight

  Scenario: Packets overtaking each other still make one whole payment
    Given "happy" takes packets of at most 50 from "cloud"
    When the link from "cloud" to "happy" reorders packets, holding each up to 40 ms
    And "cloud" creates a receiver for "bob" at "happy" expecting 500 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And "cloud" grants "happy" 10000500
    And "happy" grants "cloud" 9999500
    And no liquidity is held by packets in flight

  Scenario: A packet delivered twice is paid once
    Given "happy" takes packets of at most 50 from "cloud"
    When the link from "cloud" to "happy" delivers every packet twice
    And "cloud" creates a receiver for "bob" at "happy" expecting 600 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 600 USD
    And the incoming payment is COMPLETED having received 600 USD
    And the link from "cloud" to "happy" delivered packets twice
    And "cloud" grants "happy" 10000600
    And "happy" grants "cloud" 9999400
    And no liquidity is held by packets in flight

  Scenario: Replies cut off after the receiver processed the packets are asked for again
    When "cloud" creates a receiver for "bob" at "happy" expecting 400 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the link from "cloud" to "happy" cuts every reply
    And the outgoing payment is funded
    Then the outgoing payment is still SENDING after 0.3 seconds
    When the link from "cloud" to "happy" heals after 0.1 seconds
    Then the outgoing payment completes having sent 400 USD
    And the incoming payment is COMPLETED having received 400 USD
    And the link from "cloud" to "happy" cut replies
    And "cloud" grants "happy" 10000400
    And "happy" grants "cloud" 9999600
    And no liquidity is held by packets in flight

  Scenario: A receiver whose clock runs ahead, within a packet's lifetime, is still paid
    When "cloud" creates a receiver for "bob" at "happy" expecting 300 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the clock of "happy" runs 5000 ms ahead
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 300 USD
    And the incoming payment is COMPLETED having received 300 USD
    And "cloud" grants "happy" 10000300
    And "happy" grants "cloud" 9999700
    And no liquidity is held by packets in flight

  Scenario: A receiver whose clock runs past a packet's lifetime refuses the payment cleanly
    When "cloud" creates a receiver for "bob" at "happy" expecting 300 USD
    And "cloud" quotes paying the receiver from "alice"
    And "cloud" creates the outgoing payment from "alice" with the quote
    And the clock of "happy" runs 40000 ms ahead
    And the outgoing payment is funded
    Then the outgoing payment fails with an error containing "R02"
    And the incoming payment is PENDING having received 0 USD
    And "cloud" grants "happy" 10000000
    And "happy" grants "cloud" 10000000
    And no liquidity is held by packets in flight
