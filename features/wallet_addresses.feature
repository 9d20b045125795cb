Feature: Wallet addresses
  An operator gives each of its users a wallet address: a URL under its Open Payments URL, in one
  asset, which Open Payments clients look up before they pay. Rafiki's admin API creates them with
  createWalletAddress and changes them with updateWalletAddress.

  Background:
    Given two fresh instances, "Cloud Nine" at "test.cloud-nine-wallet" and "Happy Life" at "test.happy-life-bank"
    And both instances have the asset USD with scale 2

  Scenario: A wallet address is created and read back
    When "Cloud Nine" creates the wallet address "alice" in USD named "Alice"
    Then the answer is "200" "Created wallet address"
    And the wallet address "alice" of "Cloud Nine" is named "Alice" in USD, ACTIVE, holding 0
    And "Cloud Nine" has 1 wallet address
    And "Happy Life" has 0 wallet addresses

  Scenario: A second wallet address at the same URL is refused, whatever its case
    Given "Cloud Nine" has created the wallet address "alice" in USD named "Alice"
    When "Cloud Nine" creates the wallet address "ALICE" in USD named "Another Alice"
    Then the answer is "409" "Duplicate wallet address found with the same url", today DUPLICATE "Duplicate wallet address found with the same url"
    And "Cloud Nine" has 1 wallet address

  Scenario: A wallet address outside the instance's Open Payments URL is refused
    When "Cloud Nine" creates the wallet address "https://elsewhere.example/alice" in USD named "Alice"
    Then the answer is "400" "invalid url", today BAD_USER_INPUT "invalid url"
    And "Cloud Nine" has 0 wallet addresses

  Scenario: A deactivated wallet address stays listed as INACTIVE
    Given "Cloud Nine" has created the wallet address "alice" in USD named "Alice"
    When "Cloud Nine" deactivates the wallet address "alice"
    Then the answer is "200" "Updated wallet address"
    And the wallet address "alice" of "Cloud Nine" is named "Alice" in USD, INACTIVE, holding 0
