@embedded-only
Feature: Networks from the shipped topology files
  A scenario can start any network shipped under fixtures/topologies/ by name, with its
  instances, assets, peerings, routes and wallet addresses, and drive it with the other steps.

  Scenario: A payment crosses line-5 end to end, through three connectors
    Given the network "line-5"
    When "one" creates a receiver for "bob" at "five" expecting 1000 USD
    And "one" quotes paying the receiver from "alice"
    And "one" creates the outgoing payment from "alice" with the quote
    And the outgoing payment is funded
    Then the outgoing payment completes having sent 1000 USD
    And the incoming payment is COMPLETED having received 1000 USD
    And "one" grants "two" 10001000
    And "two" grants "one" 9999000
    And "three" grants "four" 10001000
    And "four" grants "five" 10001000
    And "five" grants "four" 9999000
    And no liquidity is held by packets in flight

  Scenario: In Rafiki's multihop local environment, cloud-nine-wallet pays happy-life-bank through global-bank
    Given the network "rafiki-localenv"
    When "cloud-nine-wallet" creates a receiver for "accounts/planex" at "happy-life-bank" expecting 500 USD
    And "cloud-nine-wallet" quotes paying the receiver from "accounts/gfranklin"
    And "cloud-nine-wallet" creates the outgoing payment from "accounts/gfranklin" with the quote
    # No funding step: cloud-nine-wallet runs the mock operator, which funds the payment from
    # Grace Franklin's balance.
    Then the outgoing payment completes having sent 500 USD
    And the incoming payment is COMPLETED having received 500 USD
    And "cloud-nine-wallet" grants "global-bank" 10000500
    And "global-bank" grants "cloud-nine-wallet" 9999500
    And "global-bank" grants "happy-life-bank" 10000500
    And "happy-life-bank" grants "global-bank" 9999500
    And no liquidity is held by packets in flight
