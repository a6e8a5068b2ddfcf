// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DataStore} from "./DataStore.sol";
import {StoreKeys} from "./GmxTypes.sol";

/// @title Seeder (devnet only)
/// @notice Writes markets, positions and parameters into the devnet DataStore in large batches,
///         under exactly the keys GMX's MarketStoreUtils.set / PositionStoreUtils.set use, so that
///         the same readers work here and on Arbitrum. It is a DataStore controller; only its
///         deployer may call it.
contract Seeder {
    error NotOwner(address caller);
    error LengthMismatch();

    /// One position as the seeder receives it (flat: calldata structs nest poorly).
    struct PositionInput {
        address account;
        address market;
        address collateralToken;
        bool isLong;
        uint256 sizeInUsd;
        uint256 sizeInTokens;
        uint256 collateralAmount;
        int256 pendingImpactAmount;
        uint256 borrowingFactor;
        uint256 fundingFeeAmountPerSize;
        uint256 longTokenClaimableFundingAmountPerSize;
        uint256 shortTokenClaimableFundingAmountPerSize;
        uint256 increasedAtTime;
        uint256 decreasedAtTime;
    }

    DataStore public immutable dataStore;
    address public immutable owner;

    constructor(DataStore dataStore_) {
        dataStore = dataStore_;
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// MarketStoreUtils.set: MARKET_LIST membership, the four address fields, salt -> market.
    function writeMarket(bytes32 salt, address marketToken, address indexToken, address longToken, address shortToken)
        external onlyOwner
    {
        DataStore ds = dataStore;
        ds.addAddress(StoreKeys.MARKET_LIST, marketToken);
        ds.setAddress(StoreKeys.marketSaltHash(salt), marketToken);
        ds.setAddress(StoreKeys.field(marketToken, StoreKeys.MARKET_TOKEN), marketToken);
        ds.setAddress(StoreKeys.field(marketToken, StoreKeys.INDEX_TOKEN), indexToken);
        ds.setAddress(StoreKeys.field(marketToken, StoreKeys.LONG_TOKEN), longToken);
        ds.setAddress(StoreKeys.field(marketToken, StoreKeys.SHORT_TOKEN), shortToken);
    }

    /// PositionStoreUtils.set for each input: list memberships first, then every field.
    function writePositions(PositionInput[] calldata positions) external onlyOwner {
        DataStore ds = dataStore;
        for (uint256 i = 0; i < positions.length; ++i) {
            // Each DataStore call leaves its ABI-encoded arguments in memory; without rewinding
            // the free-memory pointer, memory (and its quadratic gas cost) grows with the batch.
            uint256 freeMemory;
            assembly ("memory-safe") { freeMemory := mload(0x40) }
            _writePosition(ds, positions[i]);
            assembly ("memory-safe") { mstore(0x40, freeMemory) }
        }
    }

    function _writePosition(DataStore ds, PositionInput calldata p) private {
        bytes32 key = StoreKeys.positionKey(p.account, p.market, p.collateralToken, p.isLong);
        ds.addBytes32(StoreKeys.POSITION_LIST, key);
        ds.addBytes32(StoreKeys.accountPositionListKey(p.account), key);
        ds.setAddress(StoreKeys.field(key, StoreKeys.ACCOUNT), p.account);
        ds.setAddress(StoreKeys.field(key, StoreKeys.MARKET), p.market);
        ds.setAddress(StoreKeys.field(key, StoreKeys.COLLATERAL_TOKEN), p.collateralToken);
        ds.setUint(StoreKeys.field(key, StoreKeys.SIZE_IN_USD), p.sizeInUsd);
        ds.setUint(StoreKeys.field(key, StoreKeys.SIZE_IN_TOKENS), p.sizeInTokens);
        ds.setUint(StoreKeys.field(key, StoreKeys.COLLATERAL_AMOUNT), p.collateralAmount);
        ds.setInt(StoreKeys.field(key, StoreKeys.PENDING_IMPACT_AMOUNT), p.pendingImpactAmount);
        ds.setUint(StoreKeys.field(key, StoreKeys.BORROWING_FACTOR), p.borrowingFactor);
        ds.setUint(StoreKeys.field(key, StoreKeys.FUNDING_FEE_AMOUNT_PER_SIZE), p.fundingFeeAmountPerSize);
        ds.setUint(StoreKeys.field(key, StoreKeys.LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE),
            p.longTokenClaimableFundingAmountPerSize);
        ds.setUint(StoreKeys.field(key, StoreKeys.SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE),
            p.shortTokenClaimableFundingAmountPerSize);
        ds.setUint(StoreKeys.field(key, StoreKeys.INCREASED_AT_TIME), p.increasedAtTime);
        ds.setUint(StoreKeys.field(key, StoreKeys.DECREASED_AT_TIME), p.decreasedAtTime);
        ds.setBool(StoreKeys.field(key, StoreKeys.IS_LONG), p.isLong);
    }

    /// PositionStoreUtils.remove: leave both lists and delete every field.
    function removePosition(bytes32 key, address account) external onlyOwner {
        DataStore ds = dataStore;
        ds.removeBytes32(StoreKeys.POSITION_LIST, key);
        ds.removeBytes32(StoreKeys.accountPositionListKey(account), key);
        ds.removeAddress(StoreKeys.field(key, StoreKeys.ACCOUNT));
        ds.removeAddress(StoreKeys.field(key, StoreKeys.MARKET));
        ds.removeAddress(StoreKeys.field(key, StoreKeys.COLLATERAL_TOKEN));
        ds.removeUint(StoreKeys.field(key, StoreKeys.SIZE_IN_USD));
        ds.removeUint(StoreKeys.field(key, StoreKeys.SIZE_IN_TOKENS));
        ds.removeUint(StoreKeys.field(key, StoreKeys.COLLATERAL_AMOUNT));
        ds.removeInt(StoreKeys.field(key, StoreKeys.PENDING_IMPACT_AMOUNT));
        ds.removeUint(StoreKeys.field(key, StoreKeys.BORROWING_FACTOR));
        ds.removeUint(StoreKeys.field(key, StoreKeys.FUNDING_FEE_AMOUNT_PER_SIZE));
        ds.removeUint(StoreKeys.field(key, StoreKeys.LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE));
        ds.removeUint(StoreKeys.field(key, StoreKeys.SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE));
        ds.removeUint(StoreKeys.field(key, StoreKeys.INCREASED_AT_TIME));
        ds.removeUint(StoreKeys.field(key, StoreKeys.DECREASED_AT_TIME));
        ds.removeBool(StoreKeys.field(key, StoreKeys.IS_LONG));
    }

    // ---- batched parameter writes ---------------------------------------------------------
    function setUints(bytes32[] calldata keys, uint256[] calldata values) external onlyOwner {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) dataStore.setUint(keys[i], values[i]);
    }

    function setInts(bytes32[] calldata keys, int256[] calldata values) external onlyOwner {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) dataStore.setInt(keys[i], values[i]);
    }

    function setAddresses(bytes32[] calldata keys, address[] calldata values) external onlyOwner {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) dataStore.setAddress(keys[i], values[i]);
    }

    function setBools(bytes32[] calldata keys, bool[] calldata values) external onlyOwner {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) dataStore.setBool(keys[i], values[i]);
    }

    function setBytes32s(bytes32[] calldata keys, bytes32[] calldata values) external onlyOwner {
        if (keys.length != values.length) revert LengthMismatch();
        for (uint256 i = 0; i < keys.length; ++i) dataStore.setBytes32(keys[i], values[i]);
    }
}
