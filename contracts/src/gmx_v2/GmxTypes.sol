// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The record layouts GMX v2.2's Reader returns (gmx-io/gmx-synthetics
///         contracts/market/Market.sol, contracts/position/Position.sol; v2.2 adds
///         `pendingImpactAmount`). Field order is the ABI: do not reorder.
library MarketTypes {
    struct Props {
        address marketToken;
        address indexToken;
        address longToken;
        address shortToken;
    }
}

library PositionTypes {
    struct Addresses {
        address account;
        address market;
        address collateralToken;
    }

    struct Numbers {
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

    struct Flags {
        bool isLong;
    }

    struct Props {
        Addresses addresses;
        Numbers numbers;
        Flags flags;
    }
}

/// @notice Storage keys, derived as GMX's Keys.sol / PositionStoreUtils.sol / MarketStoreUtils.sol
///         derive them: constants are keccak256(abi.encode("NAME")), records keep each field under
///         keccak256(abi.encode(recordKey, FIELD)). defi_perps/protocols/gmx_v2/keys.py mirrors this
///         and tests compare the two.
library StoreKeys {
    bytes32 internal constant MARKET_LIST = keccak256(abi.encode("MARKET_LIST"));
    bytes32 internal constant POSITION_LIST = keccak256(abi.encode("POSITION_LIST"));
    bytes32 internal constant ACCOUNT_POSITION_LIST = keccak256(abi.encode("ACCOUNT_POSITION_LIST"));

    // MarketStoreUtils fields
    bytes32 internal constant MARKET_SALT = keccak256(abi.encode("MARKET_SALT"));
    bytes32 internal constant MARKET_KEY = keccak256(abi.encode("MARKET_KEY"));
    bytes32 internal constant MARKET_TOKEN = keccak256(abi.encode("MARKET_TOKEN"));
    bytes32 internal constant INDEX_TOKEN = keccak256(abi.encode("INDEX_TOKEN"));
    bytes32 internal constant LONG_TOKEN = keccak256(abi.encode("LONG_TOKEN"));
    bytes32 internal constant SHORT_TOKEN = keccak256(abi.encode("SHORT_TOKEN"));

    // PositionStoreUtils fields (v2.2)
    bytes32 internal constant ACCOUNT = keccak256(abi.encode("ACCOUNT"));
    bytes32 internal constant MARKET = keccak256(abi.encode("MARKET"));
    bytes32 internal constant COLLATERAL_TOKEN = keccak256(abi.encode("COLLATERAL_TOKEN"));
    bytes32 internal constant SIZE_IN_USD = keccak256(abi.encode("SIZE_IN_USD"));
    bytes32 internal constant SIZE_IN_TOKENS = keccak256(abi.encode("SIZE_IN_TOKENS"));
    bytes32 internal constant COLLATERAL_AMOUNT = keccak256(abi.encode("COLLATERAL_AMOUNT"));
    bytes32 internal constant PENDING_IMPACT_AMOUNT = keccak256(abi.encode("PENDING_IMPACT_AMOUNT"));
    bytes32 internal constant BORROWING_FACTOR = keccak256(abi.encode("BORROWING_FACTOR"));
    bytes32 internal constant FUNDING_FEE_AMOUNT_PER_SIZE = keccak256(abi.encode("FUNDING_FEE_AMOUNT_PER_SIZE"));
    bytes32 internal constant LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE =
        keccak256(abi.encode("LONG_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE"));
    bytes32 internal constant SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE =
        keccak256(abi.encode("SHORT_TOKEN_CLAIMABLE_FUNDING_AMOUNT_PER_SIZE"));
    bytes32 internal constant INCREASED_AT_TIME = keccak256(abi.encode("INCREASED_AT_TIME"));
    bytes32 internal constant DECREASED_AT_TIME = keccak256(abi.encode("DECREASED_AT_TIME"));
    bytes32 internal constant IS_LONG = keccak256(abi.encode("IS_LONG"));

    function field(bytes32 recordKey, bytes32 name) internal pure returns (bytes32) {
        return keccak256(abi.encode(recordKey, name));
    }

    function field(address recordKey, bytes32 name) internal pure returns (bytes32) {
        return keccak256(abi.encode(recordKey, name));
    }

    /// MarketStoreUtils.getMarketSaltHash: note the order (MARKET_SALT first), unlike field keys.
    function marketSaltHash(bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(MARKET_SALT, salt));
    }

    function accountPositionListKey(address account) internal pure returns (bytes32) {
        return keccak256(abi.encode(ACCOUNT_POSITION_LIST, account));
    }

    /// Position.getPositionKey
    function positionKey(address account, address market, address collateralToken, bool isLong)
        internal pure returns (bytes32)
    {
        return keccak256(abi.encode(account, market, collateralToken, isLong));
    }
}
