Feature: Auto-peering
  In a sandbox, an instance can peer with another by its auto-peering URL alone: static ILP
  addresses, connector URLs and tokens are exchanged automatically, and the accepting side grants
  a default line of credit (9007199254740991, JavaScript's largest safe integer).

  @embedded-only
  Scenario: Peering by URL, then packets flow both ways
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 5000
    Then the answer is "200" "ILP peer created or updated"
    And the answer's peer is named "Happy Life" at "test.happy-life-bank"
    And "Cloud Nine" has 1 peer
    And "Happy Life" has 1 peer
    And the peer of "Cloud Nine" at "test.happy-life-bank" has liquidity 5000 in USD
    And the peer of "Happy Life" at "test.cloud-nine-wallet" has liquidity 9007199254740991 in USD
    Given a client of "Cloud Nine" with a line of credit of 1000
    And a receiver behind "Happy Life"
    When the client sends a packet of 100 to the receiver
    Then the packet is fulfilled
    And the peer of "Cloud Nine" at "test.happy-life-bank" has liquidity 5100 in USD
    And the peer of "Happy Life" at "test.cloud-nine-wallet" has liquidity 9007199254740891 in USD
    Given a client of "Happy Life" with a line of credit of 1000
    And a receiver behind "Cloud Nine"
    When the client sends a packet of 40 to the receiver
    Then the packet is fulfilled
    And the peer of "Happy Life" at "test.cloud-nine-wallet" has liquidity 9007199254740931 in USD
    And the peer of "Cloud Nine" at "test.happy-life-bank" has liquidity 5060 in USD

  @embedded-only
  Scenario: Asking again updates the peer on both sides instead of adding one
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 5000
    And "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 1000
    Then the answer is "200" "ILP peer created or updated"
    And "Cloud Nine" has 1 peer
    And "Happy Life" has 1 peer
    And the peer of "Cloud Nine" at "test.happy-life-bank" has liquidity 6000 in USD
    And the peer of "Happy Life" at "test.cloud-nine-wallet" has liquidity 9007199254740991 in USD
    Given a client of "Cloud Nine" with a line of credit of 1000
    And a receiver behind "Happy Life"
    When the client sends a packet of 100 to the receiver
    Then the packet is fulfilled

  @embedded-only
  Scenario: With auto-peering off, nothing answers on its port
    Given "Cloud Nine" with auto-peering on and "Happy Life" with auto-peering off on a port of its own
    And both instances have the asset USD with scale 2
    Then nothing answers on the auto-peering port of "Happy Life"
    When "Cloud Nine" peers with "Happy Life" by the URL of that port in USD
    Then the answer is "400" "Peer URL is invalid or peer does not support auto-peering", today NOT_FOUND "Peer URL is invalid or peer does not support auto-peering"
    And "Cloud Nine" has 0 peers

  Scenario: An asset this instance does not have
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL with the asset id "b3dffeda-1e0e-47d4-82a3-69b1a622eeb9"
    Then the answer is "404" "Unknown asset", today NOT_FOUND "Unknown asset"

  Scenario: An asset the peer does not have
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And "Cloud Nine" has created the asset EUR with scale 2
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in EUR
    Then the answer is "400" "Peer does not support asset", today BAD_USER_INPUT "Peer does not support asset"
    And "Cloud Nine" has 0 peers
    And "Happy Life" has 0 peers

  Scenario: A URL that does not serve auto-peering
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2
    When "Cloud Nine" peers with "Happy Life" by the URL of its admin API in USD
    Then the answer is "400" "Invalid peering request", today BAD_USER_INPUT "Invalid peering request"
    And "Cloud Nine" has 0 peers

  @embedded-only
  Scenario: Our own ILP configuration is refused by the peer
    Given "Cloud Nine" with its connector URL misconfigured as "http://cloud..nine:3002" and "Happy Life" with auto-peering on
    And both instances have the asset USD with scale 2
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD
    Then the answer is "400" "The ILP configuration is misconfigured", today BAD_USER_INPUT "The ILP configuration is misconfigured"
    And "Happy Life" has 0 peers

  Scenario: A deposit that cannot be made
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 18446744073709551615
    Then the answer is "200" "ILP peer created or updated"
    When "Cloud Nine" peers with "Happy Life" by its auto-peering URL in USD, depositing 1
    Then the answer is "400" "Could not deposit liquidity to peer", today INTERNAL_SERVER_ERROR "Could not deposit liquidity to peer"

  Scenario Outline: The auto-peering server refuses bad requests and creates nothing
    Given two fresh instances with auto-peering on, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2
    When someone asks "Happy Life" to auto-peer with <what>
    Then the auto-peering server answers <status> "<type>" "<message>"
    And "Happy Life" has 0 peers

    Examples:
      | what                                            | status | type                        | message                                             |
      | the static ILP address "test.hello!"            | 400    | InvalidPeerIlpConfiguration | Requested peer's ILP configuration is misconfigured |
      | the connector URL "ilp.othergreatwallet.com"    | 400    | InvalidPeerIlpConfiguration | Requested peer's ILP configuration is misconfigured |
      | the asset "EUR"                                 | 404    | UnknownAsset                | Unknown asset                                       |
      | a body that is not JSON                         | 400    | InvalidPeeringRequest       | Invalid peering request                             |
      | no httpToken                                    | 400    | InvalidPeeringRequest       | Invalid peering request                             |
