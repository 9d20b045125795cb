Feature: Two-phase withdrawals of peer liquidity
  Withdrawing liquidity is a two-phase transaction: the withdrawal is created first, which
  reserves the amount, and then posted once the operator has booked it, or voided if that failed.

  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And "Cloud Nine" and "Happy Life" are peered in USD with scale 2
    And "Cloud Nine" has added 10000 of liquidity to its peer "Happy Life"
    And "Happy Life" has added 10000 of liquidity to its peer "Cloud Nine"

  Scenario: Both sides create and post a withdrawal as the guide shows
    When "Cloud Nine" creates the withdrawal "w1" of 5000 from its peer "Happy Life" as the guide shows
    Then the answer is "200" "Created peer liquidity withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 5000
    When "Cloud Nine" posts the withdrawal "w1" as the guide shows
    Then the answer is "200" "Posted Withdrawal"
    And the answer has no liquidity error
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 5000
    When "Happy Life" creates the withdrawal "w2" of 4000 from its peer "Cloud Nine" as the guide shows
    And "Happy Life" posts the withdrawal "w2" as the guide shows
    Then the answer is "200" "Posted Withdrawal"
    And the liquidity "Happy Life" grants "Cloud Nine" in USD is 6000

  Scenario: A voided withdrawal gives the liquidity back
    When "Cloud Nine" creates the withdrawal "w1" of 3000 from its peer "Happy Life" as the guide shows
    Then the liquidity "Cloud Nine" grants "Happy Life" in USD is 7000
    When "Cloud Nine" voids the withdrawal "w1" as the guide shows
    Then the answer is "200" "Voided Withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000

  Scenario: A withdrawal larger than the liquidity is refused
    When "Cloud Nine" creates the withdrawal "w1" of 10001 from its peer "Happy Life" as the guide shows
    Then the answer is "403" "Insufficient balance", today FORBIDDEN "Insufficient transfer balance"
    And the answer's liquidity error is InsufficientBalance
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000

  Scenario Outline: A withdrawal ends once: posted or voided, never both
    Given "Cloud Nine" has created the withdrawal "w1" of 100 from its peer "Happy Life"
    And "Cloud Nine" has <first> the withdrawal "w1"
    When "Cloud Nine" <second> the withdrawal "w1" as the guide shows
    Then the answer is "409" "<message>", today CONFLICT "<today's message>"
    And the answer's liquidity error is <error>
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is <liquidity>

    Examples:
      | first  | second | message                   | error         | liquidity | today's message         |
      | posted | posts  | Withdrawal already posted | AlreadyPosted | 9900      | Transfer already posted |
      | voided | posts  | Withdrawal already voided | AlreadyVoided | 10000     | Transfer already voided |
      | posted | voids  | Withdrawal already posted | AlreadyPosted | 9900      | Transfer already posted |
      | voided | voids  | Withdrawal already voided | AlreadyVoided | 10000     | Transfer already voided |

  Scenario Outline: Posting a withdrawal that does not exist is refused
    When "Cloud Nine" posts the withdrawal with id "<id>"
    Then the answer is "<code>" "<message>", today <today> "<today's message>"

    Examples:
      | id                                   | code | message            | today          | today's message     |
      | 25e4ae5b-e844-49f6-89fa-34f33bc03278 | 404  | Unknown withdrawal | NOT_FOUND      | Unknown transfer    |
      | INSERT_WITHDRAWAL_ID                 | 400  | Invalid id         | BAD_USER_INPUT | Invalid transfer id |

  Scenario: A withdrawal with a timeout expires and its liquidity returns
    When "Cloud Nine" creates the withdrawal "w1" of 2500 from its peer "Happy Life" that expires after 1 second
    Then the answer is "200" "Created peer liquidity withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 7500
    When 1.2 seconds pass
    Then the liquidity "Cloud Nine" grants "Happy Life" in USD is 10000
    When "Cloud Nine" posts the withdrawal "w1" as the guide shows
    Then the answer is "403" "Withdrawal already expired", today FORBIDDEN "Transfer already expired"

  Scenario: A withdrawal with a timeout of 0 is single-phase
    When "Cloud Nine" creates the withdrawal "w1" of 1000 from its peer "Happy Life" that expires after 0 seconds
    Then the answer is "200" "Created peer liquidity withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 9000
    When "Cloud Nine" posts the withdrawal "w1" as the guide shows
    Then the answer is "409" "Withdrawal already posted", today CONFLICT "Transfer already posted"

  Scenario: Today's input form with an idempotency key posts once and replays
    Given "Cloud Nine" has created the withdrawal "w1" of 100 from its peer "Happy Life"
    When "Cloud Nine" posts the withdrawal "w1" with idempotency key "post-1"
    Then the answer is "200" "Posted Withdrawal"
    When "Cloud Nine" posts the withdrawal "w1" with idempotency key "post-1"
    Then the answer is "200" "Posted Withdrawal"
    When "Cloud Nine" posts the withdrawal "w1" with idempotency key "post-2"
    Then the answer is "409" "Withdrawal already posted", today CONFLICT "Transfer already posted"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 9900

  Scenario Outline: The same idempotency key and withdrawal id with another <argument> is refused
    When "Cloud Nine" creates the withdrawal "w1" of 100 from its peer "Happy Life" with idempotency key "withdraw-1"
    Then the answer is "200" "Created peer liquidity withdrawal"
    When "Cloud Nine" sends the same withdrawal again but with <change>
    Then the answer is "409" "Incoming arguments are different than the original request for idempotencyKey: withdraw-1", today INTERNAL_SERVER_ERROR "Incoming arguments are different than the original request for idempotencyKey: withdraw-1"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 9900
    # The first withdrawal stands as it was made: two-phase, with no expiry.
    When "Cloud Nine" posts the withdrawal "w1" as the guide shows
    Then the answer is "200" "Posted Withdrawal"
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 9900

    Examples:
      | argument | change                  |
      | amount   | the amount 200          |
      | timeout  | a timeout of 0 seconds  |
      | timeout  | a timeout of 60 seconds |

  Scenario: Many withdrawals at once never overdraw a peer
    When "Cloud Nine" creates 50 withdrawals of 300 from its peer "Happy Life" at the same time
    Then exactly 33 of them succeed and the others are refused for insufficient balance
    And the liquidity "Cloud Nine" grants "Happy Life" in USD is 100
