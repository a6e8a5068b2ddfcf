// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DataStore} from "./DataStore.sol";
import {MarketTypes, PositionTypes, StoreKeys} from "./GmxTypes.sol";
import {StoreReads} from "./Reader.sol";

/// @notice GMX v2.1's Position.Props: no `pendingImpactAmount` (gmx-synthetics
///         deployments/arbitrum/Reader.json @ 1d0cd443; abis/gmx_v2/Reader_v2_1.json).
library PositionTypesV21 {
    struct Numbers {
        uint256 sizeInUsd;
        uint256 sizeInTokens;
        uint256 collateralAmount;
        uint256 borrowingFactor;
        uint256 fundingFeeAmountPerSize;
        uint256 longTokenClaimableFundingAmountPerSize;
        uint256 shortTokenClaimableFundingAmountPerSize;
        uint256 increasedAtTime;
        uint256 decreasedAtTime;
    }

    struct Props {
        PositionTypes.Addresses addresses;
        Numbers numbers;
        PositionTypes.Flags flags;
    }
}

/// @title ReaderV21 (devnet)
/// @notice A Reader answering in the v2.1 layout, over the same DataStore, so readers can be
///         tested against an older-style deployment (position_layout = "v2.1").
contract ReaderV21 {
    function getMarket(DataStore dataStore, address key) external view returns (MarketTypes.Props memory) {
        return StoreReads.market(dataStore, key);
    }

    function getMarketBySalt(DataStore dataStore, bytes32 salt) external view returns (MarketTypes.Props memory) {
        return StoreReads.market(dataStore, dataStore.getAddress(StoreKeys.marketSaltHash(salt)));
    }

    function getMarkets(DataStore dataStore, uint256 start, uint256 end)
        external view returns (MarketTypes.Props[] memory)
    {
        return StoreReads.markets(dataStore, start, end);
    }

    function getPosition(DataStore dataStore, bytes32 key) external view returns (PositionTypesV21.Props memory) {
        return _v21(StoreReads.position(dataStore, key));
    }

    function getAccountPositions(DataStore dataStore, address account, uint256 start, uint256 end)
        external view returns (PositionTypesV21.Props[] memory out)
    {
        bytes32[] memory keys = StoreReads.accountPositionKeys(dataStore, account, start, end);
        out = new PositionTypesV21.Props[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) out[i] = _v21(StoreReads.position(dataStore, keys[i]));
    }

    function _v21(PositionTypes.Props memory p) private pure returns (PositionTypesV21.Props memory q) {
        q.addresses = p.addresses;
        q.flags = p.flags;
        q.numbers = PositionTypesV21.Numbers(
            p.numbers.sizeInUsd, p.numbers.sizeInTokens, p.numbers.collateralAmount, p.numbers.borrowingFactor,
            p.numbers.fundingFeeAmountPerSize, p.numbers.longTokenClaimableFundingAmountPerSize,
            p.numbers.shortTokenClaimableFundingAmountPerSize, p.numbers.increasedAtTime, p.numbers.decreasedAtTime
        );
    }
}
