Feature: Peering two instances through the admin API
  Two wallet operators peer their connectors the way the Rafiki peering guide describes: they
  agree an asset, tell each other their static ILP address, connector endpoint and tokens, and
  each creates a peer for the other. Every scenario starts on two fresh instances.

  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"

  Scenario: Both sides follow the guide: create the asset, then the peer
    When "Cloud Nine" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    And the answer's asset is USD with scale 2
    When "Happy Life" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    When "Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, named "The Other Great Wallet", accepting token "mytoken" and sending token "theirtoken"
    Then the answer is "200" "Created ILP Peer"
    And the answer's peer is "The Other Great Wallet" at "test.happy-life-bank" in USD with scale 2
    When "Happy Life" creates a peer for "Cloud Nine" in USD as the guide shows, named "Cloud Nine Wallet", accepting token "theirtoken" and sending token "mytoken"
    Then the answer is "200" "Created ILP Peer"
    And the answer's peer is "Cloud Nine Wallet" at "test.cloud-nine-wallet" in USD with scale 2
    And "Cloud Nine" has 1 peer
    And "Happy Life" has 1 peer
    And "Cloud Nine" sends packets for "Happy Life" to the connector of "Happy Life" with token "theirtoken"
    And "Happy Life" sends packets for "Cloud Nine" to the connector of "Cloud Nine" with token "mytoken"

  Scenario: The guide's initial liquidity is provisioned with the peer
    Given both instances have the asset USD with scale 2
    When "Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, with initial liquidity 10000
    Then the answer is "200" "Created ILP Peer"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000

  Scenario: The tokens a peer presents to us can never be read back
    Given "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    When "Cloud Nine" asks for the incoming tokens of its peer "Happy Life"
    Then the request is refused because the field "incoming" does not exist

  Scenario: A second peer for the same address and asset is refused
    Given "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    When "Cloud Nine" creates another peer for "Happy Life" in USD accepting token "another-token"
    Then the answer is "409" "duplicate peer found for same ILP address and asset", today DUPLICATE "duplicate peer found for same ILP address and asset"
    And "Cloud Nine" has 1 peer

  Scenario Outline: A peer with bad settings is refused and nothing is created
    Given both instances have the asset USD with scale 2
    When "Cloud Nine" creates a peer for "Happy Life" in USD with its <field> set to "<value>"
    Then the answer is "<code>" "<message>", today <today> "<message>"
    And "Cloud Nine" has 0 peers

    Examples:
      | field              | value                    | code | message               | today          |
      | static ILP address | test.hello!              | 400  | invalid ILP address   | BAD_USER_INPUT |
      | static ILP address | g                        | 400  | invalid ILP address   | BAD_USER_INPUT |
      | endpoint           | ilp.othergreatwallet.com | 400  | invalid HTTP endpoint | BAD_USER_INPUT |
      | endpoint           | http://.com              | 400  | invalid HTTP endpoint | BAD_USER_INPUT |
      | endpoint           | ftp://peer.example       | 400  | invalid HTTP endpoint | BAD_USER_INPUT |
      | asset id           | INSERT_ASSET_ID          | 400  | unknown asset         | NOT_FOUND      |

  Scenario: An incoming token another peer already uses is refused
    Given both instances have the asset USD with scale 2
    And "Cloud Nine" has a peer "g.othergreatwallet" in USD accepting token "shared-token"
    When "Cloud Nine" creates a peer for "Happy Life" in USD accepting token "shared-token"
    Then the answer is "409" "duplicate incoming token", today DUPLICATE "duplicate incoming token"
    And "Cloud Nine" has 1 peer

  Scenario: Validation follows Rafiki's order: the address is checked before the endpoint and the asset
    Given both instances have the asset USD with scale 2
    When "Cloud Nine" creates a peer with address "test.hello!", endpoint "nope" and asset id "nope"
    Then the answer is "400" "invalid ILP address", today BAD_USER_INPUT "invalid ILP address"
    When "Cloud Nine" creates a peer with address "test.hello", endpoint "nope" and asset id "nope"
    Then the answer is "400" "invalid HTTP endpoint", today BAD_USER_INPUT "invalid HTTP endpoint"

  Scenario: Two peerings with one counterparty, in two assets
    Given both instances have the asset USD with scale 2
    And both instances have the asset EUR with scale 2
    When "Cloud Nine" creates a peer for "Happy Life" in USD as the guide shows, with initial liquidity 500
    Then the answer is "200" "Created ILP Peer"
    When "Cloud Nine" creates a peer for "Happy Life" in EUR as the guide shows, with initial liquidity 700
    Then the answer is "200" "Created ILP Peer"
    And "Cloud Nine" has 2 peers
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 500
    And the liquidity "Cloud Nine" grants "Happy Life" in EUR is 700
    And "Cloud Nine" routes "test.happy-life-bank.alice" in EUR to its EUR peer for "Happy Life"

  Scenario: A peer is updated and then deleted
    Given "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    When "Cloud Nine" renames its peer "Happy Life" to "Wall-y" with a max packet amount of 1000
    Then the answer is "200" "Updated ILP Peer"
    And "Cloud Nine"'s peer "Happy Life" is named "Wall-y" with a max packet amount of "1000"
    When "Cloud Nine" deletes its peer "Happy Life"
    Then the answer is "200" "Deleted ILP Peer"
    And "Cloud Nine" has 0 peers
    When "Cloud Nine" deletes its peer "Happy Life"
    Then the answer is "404" "unknown peer", today NOT_FOUND "unknown peer"

  Scenario: An asset in use cannot be deleted, and assets are unique by code and scale
    Given "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    When "Cloud Nine" deletes the asset USD
    Then the answer is "403" "Cannot delete! Asset in use.", today FORBIDDEN "Cannot delete! Asset in use."
    When "Cloud Nine" creates the asset USD with scale 2 as the guide shows
    Then the answer is "409" "Asset already exists", today DUPLICATE "Asset already exists"

  @embedded-only
  Scenario: With an API secret, only signed admin requests are served
    Given two fresh instances whose admin APIs require signatures with the secret "s3cr3t"
    When "Cloud Nine" is sent an unsigned request to create the asset USD
    Then the admin API answers HTTP 401
    When "Cloud Nine" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    When the same signed request is sent to "Cloud Nine" again
    Then the admin API answers HTTP 401
    When "Cloud Nine" is sent a request signed 60 seconds ago
    Then the admin API answers HTTP 401
    When "Cloud Nine" is sent a request signed with the secret "wrong"
    Then the admin API answers HTTP 401

  @embedded-only
  Scenario: With an operator tenant, admin requests must name it in their tenant-id header
    Given two fresh instances whose admin APIs require the operator tenant "438fa74a-fa7d-4317-9ced-dde32ece1787"
    When "Cloud Nine" creates the asset USD with scale 2 as the guide shows
    Then the answer is "200" "Created Asset"
    When "Cloud Nine" is sent a request without a tenant-id
    Then the admin API answers HTTP 401
    When "Cloud Nine" is sent a request naming the tenant "0f3e9b52-4a4e-4a61-8a64-6a4c5a1f2b11"
    Then the admin API answers HTTP 401
    When "Cloud Nine" is sent a request naming the tenant "438FA74A-FA7D-4317-9CED-DDE32ECE1787"
    Then the answer is "409" "Asset already exists", today DUPLICATE "Asset already exists"

  @embedded-only
  Scenario: Without an API secret, unsigned requests are served
    When "Cloud Nine" is sent an unsigned request to create the asset USD
    Then the answer is "200" "Created Asset"
