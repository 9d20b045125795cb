Feature: Our peering with Happy Life
  Written by `peerlab test --init` as a starting point: a peering rehearsed the way the Rafiki
  peering guide describes it. `peerlab steps` lists every step you can write, with an example
  each. Run it on fresh embedded instances with `peerlab test features`, or on your own
  deployment with `peerlab test features --target targets.toml` (fill targets.toml in first).

  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"

  Scenario: Both sides create the asset and a peer for each other
    When "Cloud Nine" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    When "Happy Life" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    When "Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, named "Happy Life Bank", accepting token "token-from-happy-life" and sending token "token-to-happy-life"
    Then the answer is "200" "Created ILP Peer"
    And the answer's peer is "Happy Life Bank" at "test.happy-life-bank" in USD with scale 2
    When "Happy Life" creates a peer for "Cloud Nine" in USD as the guide shows, named "Cloud Nine Wallet", accepting token "token-to-happy-life" and sending token "token-from-happy-life"
    Then the answer is "200" "Created ILP Peer"
    And "Cloud Nine" sends packets for "Happy Life" to the connector of "Happy Life" with token "token-to-happy-life"
    And "Happy Life" sends packets for "Cloud Nine" to the connector of "Cloud Nine" with token "token-from-happy-life"

  Scenario: Liquidity is deposited, one withdrawal posted and one voided
    Given "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    When "Cloud Nine" adds 10000 of liquidity to its peer "Happy Life" as the guide shows
    Then the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000
    When "Cloud Nine" creates the withdrawal "settled" of 4000 from its peer "Happy Life" as the guide shows
    Then the answer is "200" "Created peer liquidity withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 6000
    When "Cloud Nine" posts the withdrawal "settled" as the guide shows
    Then the answer is "200" "Posted Withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 6000
    When "Cloud Nine" creates the withdrawal "booking failed" of 1500 from its peer "Happy Life" as the guide shows
    Then the liquidity "Cloud Nine" grants "Happy Life" in USD is 4500
    When "Cloud Nine" voids the withdrawal "booking failed" as the guide shows
    Then the answer is "200" "Voided Withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 6000

  Scenario: A payment across the peering moves exactly what was paid
    Given "Cloud Nine" has created the asset USD with scale 2
    And "Happy Life" has created the asset USD with scale 2
    When "Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, named "Happy Life Bank", accepting token "token-from-happy-life" and sending token "token-to-happy-life"
    And "Happy Life" creates a peer for "Cloud Nine" in USD as the guide shows, named "Cloud Nine Wallet", accepting token "token-to-happy-life" and sending token "token-from-happy-life"
    And "Cloud Nine" adds 10000 of liquidity to its peer "Happy Life" as the guide shows
    And "Happy Life" adds 10000 of liquidity to its peer "Cloud Nine" as the guide shows
    And "Cloud Nine" creates the wallet address "alice" in USD named "Alice"
    And "Happy Life" creates the wallet address "bob" in USD named "Bob"
    When "Cloud Nine" creates a receiver for "bob" at "Happy Life" expecting 500 USD
    Then the answer is "200" "Created receiver"
    When "Cloud Nine" quotes paying the receiver from "alice"
    Then the answer is "200" "Created quote"
    When "Cloud Nine" creates the outgoing payment from "alice" with the quote
    Then the outgoing payment is FUNDING
    When the outgoing payment is funded
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10500
    And the liquidity "Happy Life" grants "Cloud Nine" in USD is 9500
