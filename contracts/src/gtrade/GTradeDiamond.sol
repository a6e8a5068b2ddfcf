// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title GTradeDiamond (devnet)
/// @notice One contract answering the read surface of Gains Network's GNSMultiCollatDiamond (v10
///         facets: PairsStorage, TradingStorage, PriceImpact, BorrowingFees, FundingFees,
///         PriceAggregator) with the deployed selectors and struct layouts
///         (abis/gtrade/GNSMultiCollatDiamond.json), plus owner-only seeding. Written for
///         defi-perps; no Gains Network code is copied. Semantics reproduced:
///         - collateral indices start at 1; `getCollaterals()` lists indices 1..n;
///         - `getTraders(offset, limit)`: `limit` inclusive, 0 or past the end = the last trader;
///           traders with no open trade and no pending order read as address(0);
///         - `getAllTrades(offset, limit)` (and the TradeInfo / liquidation-params twins): a global
///           index over every trader's open trades in trader order then trade index, `limit`
///           inclusive, an array of `limit - offset + 1` entries padded with empty structs;
///         - open interest per (collateral, pair) in collateral units, moved by every trade stored
///           or closed (`getPairOisAfterV10Collateral`);
///         - borrowing fees v2: `acc(now) = accBorrowingFeeP + borrowingRatePerSecondP · elapsed ·
///           currentPairPrice` (1e10 · s · 1e10 = 1e20), a trade owes
///           `positionSize · (acc(now) − initialAccBorrowingFeeP) / openPrice / 1e10 / 100`
///           (GainsNetwork-org/sdk src/trade/fees/borrowingV2); funding fees are disabled on the
///           devnet (0), v1 borrowing (`borrowingFeeCollateral_old`) is 0 (no pre-v10 trades).
contract GTradeDiamond {
    error NotOwner(address caller);
    error WrongLength();
    error WrongIndex();

    struct Collateral { address collateral; bool isActive; uint88 __placeholder; uint128 precision; uint128 precisionDelta; }
    struct Feed { address feed1; address feed2; uint8 feedCalculation; uint256 maxDeviationP; }
    struct Pair { string from; string to; Feed feed; uint256 spreadP; uint256 groupIndex; uint256 feeIndex; }
    struct Group { string name; bytes32 job; uint256 minLeverage; uint256 maxLeverage; }
    struct FeeGroup {
        uint40 totalPositionSizeFeeP; uint40 totalLiqCollateralFeeP; uint40 oraclePositionSizeFeeP;
        uint32 minPositionSizeUsd; uint104 __placeholder;
    }
    struct GroupLiquidationParams {
        uint40 maxLiqSpreadP; uint40 startLiqThresholdP; uint40 endLiqThresholdP; uint24 startLeverage; uint24 endLeverage;
    }
    struct Trade {
        address user; uint32 index; uint16 pairIndex; uint24 leverage; bool long; bool isOpen; uint8 collateralIndex;
        uint8 tradeType; uint120 collateralAmount; uint64 openPrice; uint64 tp; uint64 sl; bool isCounterTrade;
        uint160 positionSizeToken; uint24 __placeholder;
    }
    struct TradeInfo {
        uint32 createdBlock; uint32 tpLastUpdatedBlock; uint32 slLastUpdatedBlock; uint16 maxSlippageP;
        uint48 lastOiUpdateTs; uint48 collateralPriceUsd; uint8 contractsVersion; uint32 lastPosIncreaseBlock;
        uint8 __placeholder;
    }
    struct Counter { uint32 currentIndex; uint32 openCount; uint192 __placeholder; }
    struct PairOiCollateral { uint128 oiLongCollateral; uint128 oiShortCollateral; }
    struct BorrowingFeeParams { uint24 borrowingRatePerSecondP; uint232 __placeholder; }
    struct PairBorrowingFeeData { uint128 accBorrowingFeeP; uint32 lastBorrowingUpdateTs; uint96 __placeholder; }
    struct TradeFeesData {
        uint128 realizedTradingFeesCollateral; int128 realizedPnlCollateral; uint128 manuallyRealizedNegativePnlCollateral;
        uint128 alreadyTransferredNegativePnlCollateral; uint128 virtualAvailableCollateralInDiamond; uint128 __placeholder;
        int128 initialAccFundingFeeP; uint128 initialAccBorrowingFeeP;
    }
    struct TradeHoldingFees {
        int256 fundingFeeCollateral; uint256 borrowingFeeCollateral; uint256 borrowingFeeCollateral_old; int256 totalFeeCollateral;
    }

    uint256 private constant P_10 = 1e10;
    address public immutable owner;
    uint8 private contractsVersion;

    Collateral[] private collaterals;            // index i holds collateral index i + 1
    mapping(uint8 => address) private gTokens;
    mapping(uint8 => uint256) private collateralPriceUsd;   // 1e8
    Pair[] private pairList;
    Group[] private groupList;
    FeeGroup[] private feeList;
    mapping(uint256 => uint256) private maxLeverage;         // per pair, 1e3 (0 = the group's)
    mapping(uint256 => GroupLiquidationParams) private groupLiq;
    mapping(uint8 => mapping(uint16 => PairOiCollateral)) private oi;
    mapping(uint8 => mapping(uint16 => uint256)) private maxOi;
    mapping(uint8 => mapping(uint16 => BorrowingFeeParams)) private borrowParams;
    mapping(uint8 => mapping(uint16 => PairBorrowingFeeData)) private borrowData;

    address[] private traders;
    mapping(address => bool) private traderStored;
    mapping(address => mapping(uint8 => Counter)) private counters;   // 0 TRADE, 1 PENDING_ORDER
    mapping(address => mapping(uint32 => Trade)) private trades;
    mapping(address => mapping(uint32 => TradeInfo)) private tradeInfos;
    mapping(address => mapping(uint32 => GroupLiquidationParams)) private tradeLiq;
    mapping(address => mapping(uint32 => TradeFeesData)) private tradeFees;

    constructor(uint8 contractsVersion_) {
        owner = msg.sender;
        contractsVersion = contractsVersion_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    // ---- seeding (devnet only) ---------------------------------------------------------------

    function addCollateral(address token, address gToken, uint128 precision, uint128 precisionDelta, uint256 priceUsd)
        external onlyOwner
    {
        collaterals.push(Collateral(token, true, 0, precision, precisionDelta));
        uint8 idx = uint8(collaterals.length);
        gTokens[idx] = gToken;
        collateralPriceUsd[idx] = priceUsd;
    }

    function setCollateralPriceUsd(uint8 idx, uint256 priceUsd) external onlyOwner {
        collateralPriceUsd[idx] = priceUsd;
    }

    function addGroup(Group calldata g, GroupLiquidationParams calldata liq) external onlyOwner {
        groupLiq[groupList.length] = liq;
        groupList.push(g);
    }

    function addFee(FeeGroup calldata f) external onlyOwner {
        feeList.push(f);
    }

    function addPair(Pair calldata p, uint256 pairMaxLev) external onlyOwner {
        maxLeverage[pairList.length] = pairMaxLev;
        pairList.push(p);
    }

    function setPairCollateralParams(uint8 c, uint16 pair, uint256 maxOiCollateral, uint24 ratePerSecondP,
                                     uint128 accBorrowingFeeP, uint32 lastUpdateTs) external onlyOwner {
        maxOi[c][pair] = maxOiCollateral;
        borrowParams[c][pair] = BorrowingFeeParams(ratePerSecondP, 0);
        borrowData[c][pair] = PairBorrowingFeeData(accBorrowingFeeP, lastUpdateTs, 0);
    }

    /// Store open trades (their `index` must be the trader's next index) with their info,
    /// liquidation params and fee data; open interest and counters follow.
    function storeTrades(Trade[] calldata ts, TradeInfo[] calldata infos, GroupLiquidationParams[] calldata liqs,
                         TradeFeesData[] calldata fees_) external onlyOwner {
        if (ts.length != infos.length || ts.length != liqs.length || ts.length != fees_.length) revert WrongLength();
        for (uint256 i; i < ts.length; ++i) {
            Trade calldata t = ts[i];
            Counter storage cn = counters[t.user][0];
            if (t.index != cn.currentIndex || !t.isOpen) revert WrongIndex();
            if (!traderStored[t.user]) {
                traderStored[t.user] = true;
                traders.push(t.user);
            }
            trades[t.user][t.index] = t;
            tradeInfos[t.user][t.index] = infos[i];
            tradeLiq[t.user][t.index] = liqs[i];
            tradeFees[t.user][t.index] = fees_[i];
            cn.currentIndex += 1;
            cn.openCount += 1;
            _moveOi(t, true);
        }
    }

    /// Close an open trade (as a market close or liquidation would): off the lists, OI released.
    function closeTrade(address user, uint32 index) external onlyOwner {
        Trade storage t = trades[user][index];
        if (!t.isOpen) revert WrongIndex();
        _moveOi(t, false);
        t.isOpen = false;
        counters[user][0].openCount -= 1;
    }

    function _moveOi(Trade memory t, bool open) private {
        uint128 size = uint128(uint256(t.collateralAmount) * t.leverage / 1e3);
        PairOiCollateral storage o = oi[t.collateralIndex][t.pairIndex];
        if (t.long) o.oiLongCollateral = open ? o.oiLongCollateral + size : o.oiLongCollateral - size;
        else o.oiShortCollateral = open ? o.oiShortCollateral + size : o.oiShortCollateral - size;
    }

    // ---- PairsStorage ------------------------------------------------------------------------

    function pairsCount() external view returns (uint256) { return pairList.length; }
    function groupsCount() external view returns (uint256) { return groupList.length; }
    function feesCount() external view returns (uint256) { return feeList.length; }
    function pairs(uint256 i) external view returns (Pair memory) { return pairList[i]; }
    function groups(uint256 i) external view returns (Group memory) { return groupList[i]; }
    function fees(uint256 i) external view returns (FeeGroup memory) { return feeList[i]; }

    function pairMaxLeverage(uint256 i) external view returns (uint256) {
        uint256 m = maxLeverage[i];
        return m > 0 ? m : groupList[pairList[i].groupIndex].maxLeverage;
    }

    function getGroupLiquidationParams(uint256 g) external view returns (GroupLiquidationParams memory) {
        return groupLiq[g];
    }

    function getPairLiquidationParams(uint256 i) external view returns (GroupLiquidationParams memory) {
        return groupLiq[pairList[i].groupIndex];
    }

    // ---- TradingStorage ----------------------------------------------------------------------

    function getCurrentContractsVersion() external view returns (uint8) { return contractsVersion; }
    function getCollaterals() external view returns (Collateral[] memory) { return collaterals; }
    function getCollateralsCount() external view returns (uint8) { return uint8(collaterals.length); }
    function getGToken(uint8 c) external view returns (address) { return gTokens[c]; }
    function getTradersCount() external view returns (uint256) { return traders.length; }

    function getTraders(uint32 offset, uint32 limit) public view returns (address[] memory out) {
        if (traders.length == 0) return new address[](0);
        uint256 last = traders.length - 1;
        uint256 lim = limit == 0 || limit > last ? last : limit;
        out = new address[](lim - offset + 1);
        uint256 k;
        for (uint256 i = offset; i <= lim; ++i) {
            address tr = traders[i];
            if (counters[tr][0].openCount > 0 || counters[tr][1].openCount > 0) out[k++] = tr;
        }
    }

    function getCountersForTraders(address[] calldata ts, uint8 kind) external view returns (Counter[] memory out) {
        out = new Counter[](ts.length);
        for (uint256 i; i < ts.length; ++i) out[i] = counters[ts[i]][kind];
    }

    function getTrades(address user) external view returns (Trade[] memory out) {
        Counter memory cn = counters[user][0];
        out = new Trade[](cn.openCount);
        uint256 k;
        for (uint32 i; i < cn.currentIndex && k < cn.openCount; ++i) {
            if (trades[user][i].isOpen) out[k++] = trades[user][i];
        }
    }

    function getTradeInfo(address user, uint32 index) external view returns (TradeInfo memory) {
        return tradeInfos[user][index];
    }

    function getTradeLiquidationParams(address user, uint32 index) external view returns (GroupLiquidationParams memory) {
        return tradeLiq[user][index];
    }

    /// (trader, trade index) of every open trade with global index in [offset, limit].
    function _slots(uint256 offset, uint256 limit) private view returns (address[] memory us, uint32[] memory ix, uint256 n) {
        us = new address[](limit - offset + 1);
        ix = new uint32[](limit - offset + 1);
        address[] memory active = getTraders(0, 0);
        uint256 g;
        for (uint256 a; a < active.length && g <= limit; ++a) {
            address tr = active[a];
            if (tr == address(0)) continue;
            Counter memory cn = counters[tr][0];
            if (cn.openCount == 0) continue;
            if (g + cn.openCount <= offset) {
                g += cn.openCount;
                continue;
            }
            uint256 seen;
            for (uint32 i; i < cn.currentIndex && seen < cn.openCount && g <= limit; ++i) {
                if (!trades[tr][i].isOpen) continue;
                if (g >= offset) {
                    us[n] = tr;
                    ix[n] = i;
                    ++n;
                }
                ++seen;
                ++g;
            }
        }
    }

    function getAllTrades(uint256 offset, uint256 limit) external view returns (Trade[] memory out) {
        (address[] memory us, uint32[] memory ix, uint256 n) = _slots(offset, limit);
        out = new Trade[](us.length);
        for (uint256 i; i < n; ++i) out[i] = trades[us[i]][ix[i]];
    }

    function getAllTradeInfos(uint256 offset, uint256 limit) external view returns (TradeInfo[] memory out) {
        (address[] memory us, uint32[] memory ix, uint256 n) = _slots(offset, limit);
        out = new TradeInfo[](us.length);
        for (uint256 i; i < n; ++i) out[i] = tradeInfos[us[i]][ix[i]];
    }

    function getAllTradesLiquidationParams(uint256 offset, uint256 limit)
        external view returns (GroupLiquidationParams[] memory out)
    {
        (address[] memory us, uint32[] memory ix, uint256 n) = _slots(offset, limit);
        out = new GroupLiquidationParams[](us.length);
        for (uint256 i; i < n; ++i) out[i] = tradeLiq[us[i]][ix[i]];
    }

    // ---- PriceImpact / BorrowingFees / PriceAggregator ---------------------------------------

    function getPairOisAfterV10Collateral(uint8[] calldata cs, uint16[] calldata ps)
        external view returns (PairOiCollateral[] memory out)
    {
        if (cs.length != ps.length) revert WrongLength();
        out = new PairOiCollateral[](cs.length);
        for (uint256 i; i < cs.length; ++i) out[i] = oi[cs[i]][ps[i]];
    }

    function getPairMaxOiCollateral(uint8 c, uint16 p) external view returns (uint256) { return maxOi[c][p]; }

    function getCollateralPriceUsd(uint8 c) external view returns (uint256) { return collateralPriceUsd[c]; }

    // ---- FundingFees (borrowing v2, funding disabled) ----------------------------------------

    function getPairBorrowingFeeParams(uint8[] calldata cs, uint16[] calldata ps)
        external view returns (BorrowingFeeParams[] memory out)
    {
        if (cs.length != ps.length) revert WrongLength();
        out = new BorrowingFeeParams[](cs.length);
        for (uint256 i; i < cs.length; ++i) out[i] = borrowParams[cs[i]][ps[i]];
    }

    function getPairBorrowingFeeData(uint8[] calldata cs, uint16[] calldata ps)
        external view returns (PairBorrowingFeeData[] memory out)
    {
        if (cs.length != ps.length) revert WrongLength();
        out = new PairBorrowingFeeData[](cs.length);
        for (uint256 i; i < cs.length; ++i) out[i] = borrowData[cs[i]][ps[i]];
    }

    function getTradeFeesDataArray(address[] calldata us, uint32[] calldata ix)
        external view returns (TradeFeesData[] memory out)
    {
        if (us.length != ix.length) revert WrongLength();
        out = new TradeFeesData[](us.length);
        for (uint256 i; i < us.length; ++i) out[i] = tradeFees[us[i]][ix[i]];
    }

    function getTradePendingHoldingFeesCollateral(address user, uint32 index, uint64 currentPairPrice)
        external view returns (TradeHoldingFees memory h)
    {
        Trade memory t = trades[user][index];
        if (!t.isOpen || t.openPrice == 0) return h;
        PairBorrowingFeeData memory d = borrowData[t.collateralIndex][t.pairIndex];
        uint256 elapsed = block.timestamp > d.lastBorrowingUpdateTs ? block.timestamp - d.lastBorrowingUpdateTs : 0;
        uint256 acc = uint256(d.accBorrowingFeeP)
            + uint256(borrowParams[t.collateralIndex][t.pairIndex].borrowingRatePerSecondP) * elapsed * currentPairPrice;
        uint256 initial = tradeFees[user][index].initialAccBorrowingFeeP;
        uint256 size = uint256(t.collateralAmount) * t.leverage / 1e3;
        h.borrowingFeeCollateral = acc > initial ? size * (acc - initial) / t.openPrice / P_10 / 100 : 0;
        h.totalFeeCollateral = int256(h.borrowingFeeCollateral);
    }
}

/// @title GTokenVault (devnet)
/// @notice The read surface of a gTrade gToken (ERC-4626 collateral vault, abis/gtrade/GToken.json)
///         with owner-set accumulators. Share price and collateralization follow GToken:
///         `maxAccPnlPerToken = 1e18 + accRewardsPerToken`; `shareToAssetsPrice = maxAccPnlPerToken −
///         max(accPnlPerTokenUsed, 0)`; `collateralizationP = (maxAcc − accPnlPerTokenUsed) · 100 ·
///         1e18 / maxAcc`; `totalAssets = totalSupply · shareToAssetsPrice / 1e18` (ERC-4626
///         convertToAssets, rounding down); withdrawal lock of 3 / 2 / 1 epochs below 10 %, 10–20 %,
///         above 20 % over-collateralization.
contract GTokenVault {
    error NotOwner(address caller);

    uint256 private constant PRECISION = 1e18;
    address public immutable owner;
    address public immutable asset;
    uint8 public immutable decimals;
    string public symbol;
    uint256 public totalSupply;
    uint256 public accRewardsPerToken;
    int256 public accPnlPerToken;
    int256 public accPnlPerTokenUsed;
    uint256 public shareToAssetsPrice;
    uint256 public currentEpoch;
    uint256 public currentEpochStart;
    uint256 public maxAccOpenPnlDelta;
    uint256 public totalDeposited;
    int256 public totalClosedPnl;
    int256 public totalLiability;
    uint256 public totalRewards;

    constructor(address asset_, uint8 decimals_, string memory symbol_) {
        owner = msg.sender;
        asset = asset_;
        decimals = decimals_;
        symbol = symbol_;
        shareToAssetsPrice = PRECISION;
        currentEpoch = 1;
        currentEpochStart = block.timestamp;
    }

    function seed(uint256 supply, uint256 rewardsPerToken, int256 pnlPerToken, int256 pnlPerTokenUsed,
                  uint256 deposited, int256 closedPnl, uint256 rewards, uint256 maxOpenPnlDelta) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        totalSupply = supply;
        accRewardsPerToken = rewardsPerToken;
        accPnlPerToken = pnlPerToken;
        accPnlPerTokenUsed = pnlPerTokenUsed;
        totalDeposited = deposited;
        totalClosedPnl = closedPnl;
        totalRewards = rewards;
        maxAccOpenPnlDelta = maxOpenPnlDelta;
        totalLiability = pnlPerToken > 0 ? pnlPerToken * int256(supply) / int256(PRECISION) : int256(0);
        shareToAssetsPrice = maxAccPnlPerToken() - (pnlPerTokenUsed > 0 ? uint256(pnlPerTokenUsed) : 0);
    }

    function maxAccPnlPerToken() public view returns (uint256) { return PRECISION + accRewardsPerToken; }

    function totalAssets() external view returns (uint256) { return totalSupply * shareToAssetsPrice / PRECISION; }

    function collateralizationP() public view returns (uint256) {
        uint256 m = maxAccPnlPerToken();
        uint256 n = accPnlPerTokenUsed > 0 ? m - uint256(accPnlPerTokenUsed) : m + uint256(-accPnlPerTokenUsed);
        return n * 100 * PRECISION / m;
    }

    function withdrawEpochsTimelock() external view returns (uint256) {
        uint256 c = collateralizationP();
        uint256 over = c > 100 * PRECISION ? c - 100 * PRECISION : 0;
        return over > 20 * PRECISION ? 1 : (over > 10 * PRECISION ? 2 : 3);
    }
}
