// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IGmxV1VaultView {
    function allWhitelistedTokensLength() external view returns (uint256);
    function allWhitelistedTokens(uint256) external view returns (address);
    function whitelistedTokens(address) external view returns (bool);
    function stableTokens(address) external view returns (bool);
    function tokenDecimals(address) external view returns (uint256);
    function poolAmounts(address) external view returns (uint256);
    function reservedAmounts(address) external view returns (uint256);
    function guaranteedUsd(address) external view returns (uint256);
    function globalShortSizes(address) external view returns (uint256);
    function globalShortAveragePrices(address) external view returns (uint256);
    function getMinPrice(address) external view returns (uint256);
    function getMaxPrice(address) external view returns (uint256);
}

/// @title GmxV1GlpManager (devnet)
/// @notice The GLP pool value of GMX v1 (`getAum(bool maximise)`, `getAums()`), written for
///         defi-perps from the documented rule (gmx-io/gmx-contracts contracts/core/GlpManager.sol
///         @ fe55c4ba, ../shared/reference/protocols.md §2): stable tokens at pool × price; other
///         tokens at guaranteedUsd + (pool − reserved) × price, plus the global shorts' loss, minus
///         their profit; then aumAddition / aumDeduction. No ShortsTracker: the global short average
///         price is the Vault's (`getGlobalShortAveragePrice`).
contract GmxV1GlpManager {
    IGmxV1VaultView public vault;
    address public gov;
    uint256 public aumAddition;
    uint256 public aumDeduction;

    constructor(address _vault) {
        vault = IGmxV1VaultView(_vault);
        gov = msg.sender;
    }

    function setAumAdjustment(uint256 _aumAddition, uint256 _aumDeduction) external {
        require(msg.sender == gov, "GlpManager: forbidden");
        aumAddition = _aumAddition;
        aumDeduction = _aumDeduction;
    }

    function getGlobalShortAveragePrice(address _token) public view returns (uint256) {
        return vault.globalShortAveragePrices(_token);
    }

    function getGlobalShortDelta(address _token, uint256 _price, uint256 _size) public view returns (uint256, bool) {
        uint256 averagePrice = getGlobalShortAveragePrice(_token);
        uint256 priceDelta = averagePrice > _price ? averagePrice - _price : _price - averagePrice;
        return (_size * priceDelta / averagePrice, averagePrice > _price);
    }

    function getAums() external view returns (uint256[] memory amounts) {
        amounts = new uint256[](2);
        amounts[0] = getAum(true);
        amounts[1] = getAum(false);
    }

    function getAum(bool maximise) public view returns (uint256) {
        uint256 length = vault.allWhitelistedTokensLength();
        uint256 aum = aumAddition;
        uint256 shortProfits = 0;
        for (uint256 i = 0; i < length; i++) {
            address token = vault.allWhitelistedTokens(i);
            if (!vault.whitelistedTokens(token)) continue;
            uint256 price = maximise ? vault.getMaxPrice(token) : vault.getMinPrice(token);
            uint256 poolAmount = vault.poolAmounts(token);
            uint256 decimals = vault.tokenDecimals(token);
            if (vault.stableTokens(token)) {
                aum += poolAmount * price / (10 ** decimals);
            } else {
                uint256 size = vault.globalShortSizes(token);
                if (size > 0) {
                    (uint256 delta, bool hasProfit) = getGlobalShortDelta(token, price, size);
                    if (!hasProfit) {
                        aum += delta;
                    } else {
                        shortProfits += delta;
                    }
                }
                aum += vault.guaranteedUsd(token);
                aum += (poolAmount - vault.reservedAmounts(token)) * price / (10 ** decimals);
            }
        }
        aum = shortProfits > aum ? 0 : aum - shortProfits;
        return aumDeduction > aum ? 0 : aum - aumDeduction;
    }
}
