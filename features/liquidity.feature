Feature: Peer and asset liquidity
  An operator decides how much a peer may send through its connector by adding liquidity to
  that peer, as the Rafiki peering guide shows with addPeerLiquidity (today depositPeerLiquidity).

  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And "Cloud Nine" and "Happy Life" are peered in USD with scale 2

  Scenario: Both sides add peer liquidity as the guide shows
    When "Cloud Nine" adds 10000 of liquidity to its peer "Happy Life" as the guide shows
    Then the answer is "200" "Added peer liquidity"
    And the answer has no liquidity error
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000
    When "Happy Life" adds 2500 of liquidity to its peer "Cloud Nine" as the guide shows
    Then the answer is "200" "Added peer liquidity"
    And the liquidity "Happy Life" grants "Cloud Nine" in USD is 2500

  Scenario: Today's depositPeerLiquidity adds to the same balance
    When "Cloud Nine" adds 100 of liquidity to its peer "Happy Life" as the guide shows
    And "Cloud Nine" deposits 50 into its peer "Happy Life" with depositPeerLiquidity
    Then the answer is "200" "Added peer liquidity"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 150

  Scenario: A retried deposit with the same idempotency key is applied once
    When "Cloud Nine" deposits 70 into its peer "Happy Life" with idempotency key "deposit-1"
    Then the answer is "200" "Added peer liquidity"
    When "Cloud Nine" sends exactly the same deposit again
    Then the answer is "200" "Added peer liquidity"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 70
    When "Cloud Nine" deposits 80 into its peer "Happy Life" with idempotency key "deposit-1"
    Then the answer is "409" "Incoming arguments are different than the original request for idempotencyKey: deposit-1", today INTERNAL_SERVER_ERROR "Incoming arguments are different than the original request for idempotencyKey: deposit-1"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 70

  Scenario Outline: The same idempotency key and transfer id with another <argument> is refused
    Given "Cloud Nine" has a peer "test.other-bank" in USD accepting token "other-bank-token"
    When "Cloud Nine" deposits 70 into its peer "Happy Life" with idempotency key "deposit-1"
    Then the answer is "200" "Added peer liquidity"
    When "Cloud Nine" sends the same deposit again but with <change>
    Then the answer is "409" "Incoming arguments are different than the original request for idempotencyKey: deposit-1", today INTERNAL_SERVER_ERROR "Incoming arguments are different than the original request for idempotencyKey: deposit-1"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 70
    And the liquidity "Cloud Nine" grants "test.other-bank" in USD is 0

    Examples:
      | argument | change                                     |
      | amount   | the amount 80                              |
      | peer     | the peer id of its peer "test.other-bank" |

  Scenario Outline: Deposits that cannot be made are refused and change nothing
    When "Cloud Nine" adds liquidity to its peer "Happy Life" with <what>
    Then the answer is "<code>" "<message>", today <today> "<today's message>"
    And the answer's liquidity error is <error>
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 0

    Examples:
      | what                  | code | message        | error       | today          | today's message         |
      | an amount of 0        | 400  | Amount is zero | AmountZero  | FORBIDDEN      | Transfer amount is zero |
      | an unknown peer id    | 404  | Unknown peer   | UnknownPeer | NOT_FOUND      | unknown peer            |
      | the transfer id "abc" | 400  | Invalid id     | InvalidId   | BAD_USER_INPUT | Invalid transfer id     |

  Scenario: A transfer id is never used twice
    When "Cloud Nine" adds 10 of liquidity to its peer "Happy Life" with the transfer id "a09b730d-8610-4fda-98fa-ec7acb19c775"
    And "Cloud Nine" adds 20 of liquidity to its peer "Happy Life" with the transfer id "a09b730d-8610-4fda-98fa-ec7acb19c775"
    Then the answer is "409" "Transfer exists", today DUPLICATE "Transfer already exists"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10

  Scenario Outline: Amounts that are not UInt64 are refused before anything runs
    When "Cloud Nine" adds liquidity to its peer "Happy Life" with the raw amount <amount>
    Then the request is refused with a GraphQL error mentioning "<reason>"
    And the error's code is BAD_USER_INPUT
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 0

    Examples:
      | amount                 | reason              |
      | -5                     | unsigned            |
      | "-5"                   | unsigned            |
      | "18446744073709551616" | UInt64 maximum      |
      | 1.5                    | whole number        |
      | "ten"                  | string of digits    |

  Scenario: The largest UInt64 is accepted, and a balance never passes it
    When "Cloud Nine" adds 18446744073709551615 of liquidity to its peer "Happy Life" as the guide shows
    Then the answer is "200" "Added peer liquidity"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 18446744073709551615
    When "Cloud Nine" adds 1 of liquidity to its peer "Happy Life" as the guide shows
    Then the answer is "400" "Balance would exceed the largest UInt64", today FORBIDDEN "Balance would exceed the largest UInt64"
    And the answer's liquidity error is BalanceOverflow
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 18446744073709551615

  Scenario: Asset liquidity is the operator's own float
    When "Cloud Nine" deposits 5000 into the asset USD
    Then the answer is "200" "Added asset liquidity"
    And the USD liquidity of "Cloud Nine" is 5000
