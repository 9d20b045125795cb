@embedded-only
Feature: Packets between peers
  Once instances are peered, ILP packets flow between their connectors over ILP-over-HTTP, and
  every packet moves liquidity: the sender's line of credit shrinks and the next hop's grows.
  A client (a peer of the first instance) sends; a test receiver behind the last instance
  fulfills the packets that carry their preimage.

  Scenario: A paid packet moves liquidity on both sides of a pair
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    And a receiver behind "b"
    When the client sends a packet of 700 to the receiver
    Then the packet is fulfilled
    And "a" grants the client 9300
    And "a" grants "b" 1000700
    And "b" grants "a" 999300
    And the receiver has been paid 700
    And no liquidity is held by packets in flight

  Scenario: A packet crosses a line of three instances
    Given instances "a", "b" and "c" peered in a line with 5000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    And a receiver behind "c"
    When the client sends a packet of 250 to the receiver
    Then the packet is fulfilled
    And "a" grants "b" 5250
    And "b" grants "a" 4750
    And "b" grants "c" 5250
    And "c" grants "b" 4750
    And the receiver has been paid 250

  Scenario: The line of credit runs out: T04
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 100
    And a receiver behind "b"
    When the client sends a packet of 60 to the receiver
    Then the packet is fulfilled
    When the client sends a packet of 60 to the receiver
    Then the packet is rejected with T04 by "test.a"
    And "a" grants the client 40
    And no liquidity is held by packets in flight

  Scenario: A packet above the max packet amount: F08 says how much fits
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000 and a max packet amount of 500
    And a receiver behind "b"
    When the client sends a packet of 501 to the receiver
    Then the packet is rejected with F08 by "test.a"
    And the reject says 501 was received and at most 500 is allowed
    And "a" grants the client 10000

  Scenario Outline: Packets nobody can route: F02
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    When the client sends a packet of 5 to "<destination>"
    Then the packet is rejected with F02 by "test.a"
    And the reject message is "unknown destination account"
    And "a" grants the client 10000

    Examples:
      | destination        |
      | test.nowhere.bob   |
      | peer.route.control |
      | peer.settle        |
      | test.client.echo   |

  Scenario: A packet with too little time left: R02
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    And a receiver behind "b"
    When the client sends a packet of 5 to the receiver that expires in 1.5 seconds
    Then the packet is rejected with R02 by "test.a"
    And the reject message starts with "source transfer expires too soon to complete payment. actualSourceExpiry="
    And "a" grants the client 10000
    And no liquidity is held by packets in flight

  Scenario: A receiver slower than the packet's expiry: R00, and the liquidity comes back
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    And a receiver behind "b" that takes 5 seconds to answer
    When the client sends a packet of 5 to the receiver that expires in 4 seconds
    Then the packet is rejected with R00 by "test.b"
    And "a" grants the client 10000
    And no liquidity is held by packets in flight

  Scenario: A peer that is not there: T00, the details only in the log
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    And "b" has a peer "test.b.gone" whose connector is not running
    When the client sends a packet of 5 to "test.b.gone.x"
    Then the packet is rejected with T00 by "test.b"
    And the reject message is "unexpected internal error"
    And "a" grants the client 10000

  Scenario: A client asks for its address with IL-DCP
    Given instances "a" and "b" peered in a line with 1000000 of liquidity each way
    And a client of "a" with a line of credit of 10000
    When the client asks "a" for its configuration with IL-DCP
    Then it learns the address "test.client" and the asset USD with scale 2
