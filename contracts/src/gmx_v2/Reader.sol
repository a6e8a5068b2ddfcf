// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DataStore} from "./DataStore.sol";
import {MarketTypes, PositionTypes, StoreKeys} from "./GmxTypes.sol";

/// @notice MarketStoreUtils.get / PositionStoreUtils.get: records assembled field by field from a
///         DataStore. Unknown keys return zeroed records, as on GMX. Shared by both Reader layouts.
library StoreReads {
    function market(DataStore dataStore, address key) internal view returns (MarketTypes.Props memory m) {
        if (!dataStore.containsAddress(StoreKeys.MARKET_LIST, key)) return m;
        m.marketToken = dataStore.getAddress(StoreKeys.field(key, StoreKeys.MARKET_TOKEN));
        m.indexToken = dataStore.getAddress(StoreKeys.field(key, StoreKeys.INDEX_TOKEN));
        m.longToken = dataStore.getAddress(StoreKeys.field(key, StoreKeys.LONG_TOKEN));
        m.shortToken = dataStore.getAddress(StoreKeys.field(key, StoreKeys.SHORT_TOKEN));
    }

    function markets(DataStore dataStore, uint256 start, uint256 end)
        internal view returns (MarketTypes.Props[] memory out)
    {
        address[] memory keys = dataStore.getAddressValuesAt(StoreKeys.MARKET_LIST, start, end);
        out = new MarketTypes.Props[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) out[i] = market(dataStore, keys[i]);
    }

    function position(DataStore dataStore, bytes32 key) internal view returns (PositionTypes.Props memory p) {
        if (!dataStore.containsBytes32(StoreKeys.POSITION_LIST, key)) return p;
        p.addresses.account = dataStore.getAddress(StoreKeys.field(key, StoreKeys.ACCOUNT));
        p.addresses.market = dataStore.getAddress(StoreKeys.field(key, StoreKeys.MARKET));
        p.addresses.collateralToken = dataStore.getAddress(StoreKeys.field(key, StoreKeys.COLLATERAL_TOKEN));
        p.numbers.sizeInUsd = dataStore.getUint(StoreKeys.field(key, StoreKeys.SIZE_IN_USD));
        p.numbers.sizeInTokens = dataStore.getUint(StoreKeys.field(key, StoreKeys.SIZE_IN_TOKENS));
        p.numbers.collateralAmount = dataStore.getUint(StoreKeys.field(key, StoreKeys.COLLATERAL_AMOUNT));
        p.numbers.pendingImpactAmount = dataStore.getInt(StoreKeys.field(key, StoreKeys.PENDING_IMPACT_AMOUNT));
        p.numbers.borrowingFactor = dataStore.getUint(StoreKeys.field(key, StoreKeys.BORROWING_FACTOR));
        p.numbers.fundingFeeAmountPerSize =
            dataStore.getUint(StoreKeys.field(key, StoreKeys.FUNDING_FEE_AMOUNT_PER_SIZE));
        p.numbers.longTokenClaimableFundingAmountPerSize =
            dataStore.getUint(StoreKeys.field(key, StoreKeys.LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE));
        p.numbers.shortTokenClaimableFundingAmountPerSize =
            dataStore.getUint(StoreKeys.field(key, StoreKeys.SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE));
        p.numbers.increasedAtTime = dataStore.getUint(StoreKeys.field(key, StoreKeys.INCREASED_AT_TIME));
        p.numbers.decreasedAtTime = dataStore.getUint(StoreKeys.field(key, StoreKeys.DECREASED_AT_TIME));
        p.flags.isLong = dataStore.getBool(StoreKeys.field(key, StoreKeys.IS_LONG));
    }

    function accountPositionKeys(DataStore dataStore, address account, uint256 start, uint256 end)
        internal view returns (bytes32[] memory)
    {
        return dataStore.getBytes32ValuesAt(StoreKeys.accountPositionListKey(account), start, end);
    }
}

/// @title Reader (devnet)
/// @notice The storage-reading part of GMX v2.2's Reader (contracts/reader/Reader.sol).
contract Reader {
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

    function getPosition(DataStore dataStore, bytes32 key) external view returns (PositionTypes.Props memory) {
        return StoreReads.position(dataStore, key);
    }

    function getAccountPositions(DataStore dataStore, address account, uint256 start, uint256 end)
        external view returns (PositionTypes.Props[] memory out)
    {
        bytes32[] memory keys = StoreReads.accountPositionKeys(dataStore, account, start, end);
        out = new PositionTypes.Props[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) out[i] = StoreReads.position(dataStore, keys[i]);
    }
}
