// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title HyperCore read precompiles (devnet)
/// @notice HyperEVM exposes HyperCore (L1) state through read precompiles at 0x…0800 onward; each
///         takes the ABI-encoded arguments with NO function selector and answers the ABI-encoded
///         struct (Hyperliquid docs "Interacting with HyperCore"; L1Read.sol, e.g.
///         hyperliquid-dev/hyper-evm-lib test/utils/L1Read.sol and src/common/HLConstants.sol @ 6abf28fc).
///         The devnet places `HyperCoreReadPrecompile`'s runtime code at each precompile address
///         with anvil_setCode and `HyperCoreState` at STATE; a precompile forwards its raw input
///         to the state's view of the same arguments and returns the answer verbatim, so the bytes a
///         reader sees have the real encodings. Invalid inputs (an unlisted perp, a non-vault, a
///         perp dex other than 0, values that do not fit the argument types) end in INVALID, which
///         consumes all gas given, as the docs say the real precompiles do.

/// The seeded HyperCore state. Devnet only: the setters are open (the address has no
/// constructor; anvil_setCode puts the runtime code there).
contract HyperCoreState {
    struct Position {
        int64 szi;
        uint64 entryNtl;
        int64 isolatedRawUsd;
        uint32 leverage;
        bool isIsolated;
    }

    struct SpotBalance {
        uint64 total;
        uint64 hold;
        uint64 entryNtl;
    }

    struct UserVaultEquity {
        uint64 equity;
        uint64 lockedUntilTimestamp;
    }

    struct Withdrawable {
        uint64 withdrawable;
    }

    struct PerpAssetInfo {
        string coin;
        uint32 marginTableId;
        uint8 szDecimals;
        uint8 maxLeverage;
        bool onlyIsolated;
    }

    struct Bbo {
        uint64 bid;
        uint64 ask;
    }

    struct AccountMarginSummary {
        int64 accountValue;
        uint64 marginUsed;
        uint64 ntlPos;
        int64 rawUsd;
    }

    struct CoreUserExists {
        bool exists;
    }

    error NotListed();

    mapping(uint32 => bool) private perpListed;
    mapping(uint32 => PerpAssetInfo) private perpInfo;
    mapping(uint32 => uint64) private mark;
    mapping(uint32 => uint64) private oracle;
    mapping(uint32 => Bbo) private books;
    mapping(uint64 => bool) private tokenListed;
    mapping(address => bool) private vaults;
    mapping(address => bool) private users;
    mapping(address => mapping(uint32 => Position)) private positions;
    mapping(address => mapping(uint64 => SpotBalance)) private spot;
    mapping(address => mapping(address => UserVaultEquity)) private equity;
    mapping(address => uint64) private free;
    mapping(address => AccountMarginSummary) private summaries;
    uint64 private l1Block;

    // ---- seeding (devnet) -------------------------------------------------------------------
    function setPerp(uint32 perp, PerpAssetInfo calldata info, uint64 markPx_, uint64 oraclePx_, Bbo calldata bbo_)
        external
    {
        perpListed[perp] = true;
        perpInfo[perp] = info;
        mark[perp] = markPx_;
        oracle[perp] = oraclePx_;
        books[perp] = bbo_;
    }

    function setPrices(uint32[] calldata perps, uint64[] calldata markPxs, uint64[] calldata oraclePxs) external {
        for (uint256 i = 0; i < perps.length; i++) {
            if (!perpListed[perps[i]]) revert NotListed();
            mark[perps[i]] = markPxs[i];
            oracle[perps[i]] = oraclePxs[i];
        }
    }

    function setToken(uint64 token) external {
        tokenListed[token] = true;
    }

    function setVault(address vault) external {
        vaults[vault] = true;
        users[vault] = true;
    }

    function setL1BlockNumber(uint64 n) external {
        l1Block = n;
    }

    function setPositions(address[] calldata who, uint32[] calldata perps, Position[] calldata ps) external {
        for (uint256 i = 0; i < who.length; i++) {
            if (!perpListed[perps[i]]) revert NotListed();
            positions[who[i]][perps[i]] = ps[i];
            users[who[i]] = true;
        }
    }

    function setAccounts(address[] calldata who, AccountMarginSummary[] calldata s, uint64[] calldata w) external {
        for (uint256 i = 0; i < who.length; i++) {
            summaries[who[i]] = s[i];
            free[who[i]] = w[i];
            users[who[i]] = true;
        }
    }

    function setSpotBalances(address[] calldata who, uint64[] calldata tokens, SpotBalance[] calldata b) external {
        for (uint256 i = 0; i < who.length; i++) {
            if (!tokenListed[tokens[i]]) revert NotListed();
            spot[who[i]][tokens[i]] = b[i];
            users[who[i]] = true;
        }
    }

    function setVaultEquities(address[] calldata who, address[] calldata vault, UserVaultEquity[] calldata e)
        external
    {
        for (uint256 i = 0; i < who.length; i++) {
            if (!vaults[vault[i]]) revert NotListed();
            equity[who[i]][vault[i]] = e[i];
            users[who[i]] = true;
        }
    }

    // ---- the precompiles' answers (same arguments as the precompile's input) -------------------
    function position(address user, uint16 perp) external view returns (Position memory) {
        if (!perpListed[perp]) revert NotListed();
        return positions[user][perp];
    }

    function position2(address user, uint32 perp) external view returns (Position memory) {
        if (!perpListed[perp]) revert NotListed();
        return positions[user][perp];
    }

    function spotBalance(address user, uint64 token) external view returns (SpotBalance memory) {
        if (!tokenListed[token]) revert NotListed();
        return spot[user][token];
    }

    function userVaultEquity(address user, address vault) external view returns (UserVaultEquity memory) {
        if (!vaults[vault]) revert NotListed();
        return equity[user][vault];
    }

    function withdrawable(address user) external view returns (Withdrawable memory) {
        return Withdrawable(free[user]);
    }

    function markPx(uint32 perp) external view returns (uint64) {
        if (!perpListed[perp]) revert NotListed();
        return mark[perp];
    }

    function oraclePx(uint32 perp) external view returns (uint64) {
        if (!perpListed[perp]) revert NotListed();
        return oracle[perp];
    }

    function l1BlockNumber() external view returns (uint64) {
        return l1Block;
    }

    function perpAssetInfo(uint32 perp) external view returns (PerpAssetInfo memory) {
        if (!perpListed[perp]) revert NotListed();
        return perpInfo[perp];
    }

    function bbo(uint32 asset) external view returns (Bbo memory) {
        if (!perpListed[asset]) revert NotListed();
        return books[asset];
    }

    function accountMarginSummary(uint32 perpDexIndex, address user) external view returns (AccountMarginSummary memory) {
        if (perpDexIndex != 0) revert NotListed();   // the devnet has the first perp dex only
        return summaries[user];
    }

    function coreUserExists(address user) external view returns (CoreUserExists memory) {
        return CoreUserExists(users[user]);
    }
}

/// Runtime code placed at every read-precompile address. It picks the state's view by its own
/// address and forwards the raw input (no selector) behind that view's selector.
contract HyperCoreReadPrecompile {
    /// Where the devnet places HyperCoreState (defi_perps/protocols/hyperliquid/devnet.py STATE).
    address internal constant STATE = 0x4C1EAD0000000000000000000000000000000800;

    fallback(bytes calldata input) external returns (bytes memory) {
        uint160 at = uint160(address(this));
        bytes4 sel;
        if (at == 0x800) sel = HyperCoreState.position.selector;
        else if (at == 0x801) sel = HyperCoreState.spotBalance.selector;
        else if (at == 0x802) sel = HyperCoreState.userVaultEquity.selector;
        else if (at == 0x803) sel = HyperCoreState.withdrawable.selector;
        else if (at == 0x806) sel = HyperCoreState.markPx.selector;
        else if (at == 0x807) sel = HyperCoreState.oraclePx.selector;
        else if (at == 0x809) sel = HyperCoreState.l1BlockNumber.selector;
        else if (at == 0x80a) sel = HyperCoreState.perpAssetInfo.selector;
        else if (at == 0x80e) sel = HyperCoreState.bbo.selector;
        else if (at == 0x80f) sel = HyperCoreState.accountMarginSummary.selector;
        else if (at == 0x810) sel = HyperCoreState.coreUserExists.selector;
        else if (at == 0x813) sel = HyperCoreState.position2.selector;
        else _burn();
        (bool ok, bytes memory out) = STATE.staticcall(abi.encodePacked(sel, input));
        if (!ok) _burn();
        return out;
    }

    /// "Precompiles called on invalid inputs … return an error and consume all gas passed into the
    /// precompile call frame" (Hyperliquid docs, Interacting with HyperCore).
    function _burn() private pure {
        assembly {
            invalid()
        }
    }
}
