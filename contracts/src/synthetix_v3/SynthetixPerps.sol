// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Synthetix perps v3 read surface (devnet)
/// @notice The PerpsMarketProxy views defi-perps reads and the account NFT (ERC-721 Enumerable), with
///         the same selectors and return layouts as Synthetixio/synthetix-v3 markets/perps-market
///         (interfaces IPerpsMarketModule, IPerpsAccountModule, ILiquidationModule,
///         IMarketConfigurationModule, IGlobalPerpsMarketModule @ 23585f73; the account NFT is the
///         router's AccountModule.getAccountTokenAddress()). Values are D18 fixed point as there.
///         The margin views compute what the real modules compute, from seeded state:
///         - PerpsMarketConfiguration.calculateRequiredMargins: impactOnSkew = |size|.divDecimal(skewScale);
///           IMR = impactOnSkew.mulDecimal(initialMarginRatio) + minimumInitialMarginRatio;
///           MMR = IMR.mulDecimal(maintenanceMarginScalar); margin = notional.mulDecimal(ratio) + minimumPositionMargin;
///         - liquidation reward (PerpsAccount.getKeeperRewardsAndCosts / getPossibleLiquidationReward,
///           GlobalPerpsMarketConfiguration.keeperReward) with the keeper costs as seeded values
///           (on chain they come from an oracle node);
///         - PerpsAccount.isEligibleForLiquidation: MM + reward > available margin;
///         - maxLiquidationAmountInWindow = (maker + taker).mulDecimal(skewScale)
///           .mulDecimal(multiplier) * maxSecondsInLiquidationWindow, capacity over the window's entries.
///         Position PnL: size.mulDecimal(price - entryPrice) + accruedFunding - owedInterest
///         (Position.getPnl; funding and interest are seeded as accrued amounts).
contract DevPerpsAccountNft {
    string public name = "Perpetual Futures Account";
    string public symbol = "snxAccount";
    address public immutable proxy;
    uint256[] private all;
    mapping(uint256 => address) private owners;
    mapping(address => uint256[]) private owned;

    error NotProxy();
    error IndexOverrun(uint256 index, uint256 length);
    error TokenDoesNotExist(uint256 id);

    constructor() {
        proxy = msg.sender;
    }

    function mint(address to, uint256 id) external {
        if (msg.sender != proxy) revert NotProxy();
        owners[id] = to;
        owned[to].push(id);
        all.push(id);
    }

    function totalSupply() external view returns (uint256) {
        return all.length;
    }

    function tokenByIndex(uint256 index) external view returns (uint256) {
        if (index >= all.length) revert IndexOverrun(index, all.length);
        return all[index];
    }

    function ownerOf(uint256 id) external view returns (address) {
        address o = owners[id];
        if (o == address(0)) revert TokenDoesNotExist(id);
        return o;
    }

    function balanceOf(address holder) external view returns (uint256) {
        return owned[holder].length;
    }

    function tokenOfOwnerByIndex(address holder, uint256 index) external view returns (uint256) {
        if (index >= owned[holder].length) revert IndexOverrun(index, owned[holder].length);
        return owned[holder][index];
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        // ERC-165, ERC-721, ERC-721 Enumerable
        return id == 0x01ffc9a7 || id == 0x80ac58cd || id == 0x780e9d63;
    }
}

contract DevPerpsMarketProxy {
    uint256 private constant UNIT = 1e18;

    struct MarketSummary {
        int256 skew;
        uint256 size;
        uint256 maxOpenInterest;
        int256 currentFundingRate;
        int256 currentFundingVelocity;
        uint256 indexPrice;
    }

    struct Market {
        string name;
        string symbol;
        uint256 price;
        int256 skew;
        uint256 size;
        int256 fundingRate;
        int256 fundingVelocity;
        uint256 skewScale;
        uint256 maxFundingVelocity;
        uint256 makerFee;
        uint256 takerFee;
        uint256 initialMarginRatio;
        uint256 minimumInitialMarginRatio;
        uint256 maintenanceMarginScalar;
        uint256 flagRewardRatio;
        uint256 minimumPositionMargin;
        uint256 maxLiquidationLimitAccumulationMultiplier;
        uint256 maxSecondsInLiquidationWindow;
        uint256 maxLiquidationPd;
        address endorsedLiquidator;
        uint256 maxMarketSize;
        uint256 lockedOiRatio;
    }

    struct Position {
        int128 size;
        uint256 entryPrice;
        int256 accruedFunding;
        uint256 owedInterest;
    }

    struct LiquidationEntry {
        uint256 timestamp;
        uint256 amount;
    }

    error InvalidMarket(uint128 marketId);
    error AccountNotFound(uint128 accountId);
    error NotOwner();

    address public immutable owner;
    DevPerpsAccountNft public immutable nft;
    uint256[] private marketIds;
    mapping(uint128 => bool) private listed;
    mapping(uint128 => Market) private markets;
    mapping(uint128 => LiquidationEntry[]) private liquidations;
    uint256[] private collateralIds;
    mapping(uint128 => uint256) private collateralPrice;   // USD per unit, D18 (sUSD: 1e18)
    mapping(uint128 => bool) private accountExists;
    mapping(uint128 => uint256[]) private accountMarkets;
    mapping(uint128 => uint256[]) private accountCollaterals;
    mapping(uint128 => mapping(uint128 => uint256)) private collateralAmounts;
    mapping(uint128 => mapping(uint128 => Position)) private positions;
    mapping(uint128 => uint256) private debts;
    uint256[] private flagged;
    uint256 private minKeeperRewardUsd;
    uint256 private minKeeperProfitRatio;
    uint256 private maxKeeperRewardUsd;
    uint256 private maxKeeperScalingRatio;
    uint256 private collateralLiquidateRewardRatio;
    uint256 private flagKeeperCost;
    uint256 private liquidateKeeperCost;

    constructor() {
        owner = msg.sender;
        nft = new DevPerpsAccountNft();
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    // ---- seeding (devnet) -------------------------------------------------------------------
    function setMarket(uint128 id, Market calldata m) external onlyOwner {
        if (!listed[id]) {
            listed[id] = true;
            marketIds.push(id);
        }
        markets[id] = m;
    }

    function setPrice(uint128 id, uint256 price) external onlyOwner {
        markets[id].price = price;
    }

    function setCollateral(uint128 id, uint256 priceD18) external onlyOwner {
        if (collateralPrice[id] == 0) collateralIds.push(id);
        collateralPrice[id] = priceD18;
    }

    function setGlobals(uint256[7] calldata g) external onlyOwner {
        (minKeeperRewardUsd, minKeeperProfitRatio, maxKeeperRewardUsd, maxKeeperScalingRatio) = (g[0], g[1], g[2], g[3]);
        (collateralLiquidateRewardRatio, flagKeeperCost, liquidateKeeperCost) = (g[4], g[5], g[6]);
    }

    function addLiquidation(uint128 id, uint256 timestamp, uint256 amount) external onlyOwner {
        liquidations[id].push(LiquidationEntry(timestamp, amount));
    }

    function setFlagged(uint256[] calldata ids) external onlyOwner {
        flagged = ids;
    }

    /// One account: its NFT, collateral, debt and positions (markets must be listed).
    function seedAccount(
        address holder,
        uint128 accountId,
        uint128[] calldata cIds,
        uint256[] calldata cAmounts,
        uint256 accountDebt,
        uint128[] calldata mIds,
        Position[] calldata ps
    ) external onlyOwner {
        accountExists[accountId] = true;
        nft.mint(holder, accountId);
        for (uint256 i = 0; i < cIds.length; i++) {
            accountCollaterals[accountId].push(cIds[i]);
            collateralAmounts[accountId][cIds[i]] = cAmounts[i];
        }
        debts[accountId] = accountDebt;
        for (uint256 i = 0; i < mIds.length; i++) {
            if (!listed[mIds[i]]) revert InvalidMarket(mIds[i]);
            accountMarkets[accountId].push(mIds[i]);
            positions[accountId][mIds[i]] = ps[i];
        }
    }

    // ---- markets ----------------------------------------------------------------------------------
    function _market(uint128 id) private view returns (Market storage) {
        if (!listed[id]) revert InvalidMarket(id);
        return markets[id];
    }

    function getMarkets() external view returns (uint256[] memory) {
        return marketIds;
    }

    function metadata(uint128 id) external view returns (string memory, string memory) {
        Market storage m = _market(id);
        return (m.name, m.symbol);
    }

    function getMarketSummary(uint128 id) external view returns (MarketSummary memory s) {
        Market storage m = _market(id);
        s = MarketSummary(m.skew, m.size, m.maxMarketSize, m.fundingRate, m.fundingVelocity, m.price);
    }

    function indexPrice(uint128 id) external view returns (uint256) {
        return _market(id).price;
    }

    function getFundingParameters(uint128 id) external view returns (uint256, uint256) {
        Market storage m = _market(id);
        return (m.skewScale, m.maxFundingVelocity);
    }

    function getOrderFees(uint128 id) external view returns (uint256, uint256) {
        Market storage m = _market(id);
        return (m.makerFee, m.takerFee);
    }

    function getLiquidationParameters(uint128 id) external view returns (uint256, uint256, uint256, uint256, uint256) {
        Market storage m = _market(id);
        return (m.initialMarginRatio, m.minimumInitialMarginRatio, m.maintenanceMarginScalar, m.flagRewardRatio,
                m.minimumPositionMargin);
    }

    function getMaxLiquidationParameters(uint128 id) external view returns (uint256, uint256, uint256, address) {
        Market storage m = _market(id);
        return (m.maxLiquidationLimitAccumulationMultiplier, m.maxSecondsInLiquidationWindow, m.maxLiquidationPd,
                m.endorsedLiquidator);
    }

    function getMaxMarketSize(uint128 id) external view returns (uint256) {
        return _market(id).maxMarketSize;
    }

    function getLockedOiRatio(uint128 id) external view returns (uint256) {
        return _market(id).lockedOiRatio;
    }

    function _maxInWindow(Market storage m) private view returns (uint256) {
        return (((m.makerFee + m.takerFee) * m.skewScale) / UNIT * m.maxLiquidationLimitAccumulationMultiplier) / UNIT
            * m.maxSecondsInLiquidationWindow;
    }

    function liquidationCapacity(uint128 id) external view returns (uint256 capacity, uint256 maxInWindow, uint256 latest) {
        Market storage m = _market(id);
        maxInWindow = _maxInWindow(m);
        LiquidationEntry[] storage data = liquidations[id];
        if (data.length == 0) return (maxInWindow, maxInWindow, 0);
        uint256 i = data.length - 1;
        latest = data[i].timestamp;
        uint256 windowStart = block.timestamp - m.maxSecondsInLiquidationWindow;
        uint256 acc;
        while (data[i].timestamp > windowStart) {
            acc += data[i].amount;
            if (i == 0) break;
            i--;
        }
        capacity = acc >= maxInWindow ? 0 : maxInWindow - acc;
    }

    // ---- globals ----------------------------------------------------------------------------------
    function getKeeperRewardGuards() external view returns (uint256, uint256, uint256, uint256) {
        return (minKeeperRewardUsd, minKeeperProfitRatio, maxKeeperRewardUsd, maxKeeperScalingRatio);
    }

    function getCollateralLiquidateRewardRatio() external view returns (uint128) {
        return uint128(collateralLiquidateRewardRatio);
    }

    function getSupportedCollaterals() external view returns (uint256[] memory) {
        return collateralIds;
    }

    function getAccountTokenAddress() external view returns (address) {
        return address(nft);
    }

    function getAccountOwner(uint128 accountId) external view returns (address) {
        return nft.ownerOf(accountId);
    }

    function flaggedAccounts() external view returns (uint256[] memory) {
        return flagged;
    }

    function totalGlobalCollateralValue() external view returns (uint256 total) {
        uint256 n = nft.totalSupply();
        for (uint256 k = 0; k < n; k++) total += _collateralValue(uint128(nft.tokenByIndex(k)));
    }

    // ---- accounts ---------------------------------------------------------------------------------
    function _account(uint128 id) private view {
        if (!accountExists[id]) revert AccountNotFound(id);
    }

    function getAccountOpenPositions(uint128 id) external view returns (uint256[] memory) {
        return accountMarkets[id];
    }

    function getAccountCollateralIds(uint128 id) external view returns (uint256[] memory) {
        return accountCollaterals[id];
    }

    function getCollateralAmount(uint128 id, uint128 collateralId) external view returns (uint256) {
        return collateralAmounts[id][collateralId];
    }

    function _collateralValue(uint128 id) private view returns (uint256 total) {
        uint256[] storage c = accountCollaterals[id];
        for (uint256 i = 0; i < c.length; i++) {
            uint128 cid = uint128(c[i]);
            total += (collateralAmounts[id][cid] * collateralPrice[cid]) / UNIT;
        }
    }

    function totalCollateralValue(uint128 id) external view returns (uint256) {
        return _collateralValue(id);
    }

    function _pnl(uint128 id, uint128 marketId) private view returns (int256) {
        Position storage p = positions[id][marketId];
        int256 shift = int256(markets[marketId].price) - int256(p.entryPrice);
        return (int256(p.size) * shift) / int256(UNIT) + p.accruedFunding - int256(p.owedInterest);
    }

    function getOpenPosition(uint128 id, uint128 marketId)
        external
        view
        returns (int256 totalPnl, int256 accruedFunding, int128 positionSize, uint256 owedInterest)
    {
        _market(marketId);
        Position storage p = positions[id][marketId];
        return (p.size == 0 ? int256(0) : _pnl(id, marketId), p.accruedFunding, p.size, p.owedInterest);
    }

    function debt(uint128 id) external view returns (uint256) {
        _account(id);
        return debts[id];
    }

    function getAvailableMargin(uint128 id) public view returns (int256 margin) {
        margin = int256(_collateralValue(id)) - int256(debts[id]);
        uint256[] storage ms = accountMarkets[id];
        for (uint256 i = 0; i < ms.length; i++) margin += _pnl(id, uint128(ms[i]));
    }

    function _margins(Market storage m, int128 size) private view returns (uint256 im, uint256 mm, uint256 notional) {
        uint256 abs = size < 0 ? uint256(-int256(size)) : uint256(int256(size));
        uint256 impact = m.skewScale == 0 ? 0 : (abs * UNIT) / m.skewScale;
        uint256 imr = (impact * m.initialMarginRatio) / UNIT + m.minimumInitialMarginRatio;
        uint256 mmr = (imr * m.maintenanceMarginScalar) / UNIT;
        notional = (abs * m.price) / UNIT;
        im = (notional * imr) / UNIT + m.minimumPositionMargin;
        mm = (notional * mmr) / UNIT + m.minimumPositionMargin;
    }

    function _keeperReward(uint256 rewards, uint256 cost, uint256 marginUsd) private view returns (uint256) {
        uint256 a = cost + minKeeperRewardUsd;
        uint256 b = (cost * (minKeeperProfitRatio + UNIT)) / UNIT;
        uint256 minCap = a > b ? a : b;
        uint256 maxCap = maxKeeperRewardUsd;
        if (marginUsd != 0) {
            uint256 scaled = (marginUsd * maxKeeperScalingRatio) / UNIT;
            if (scaled < maxCap) maxCap = scaled;
        }
        uint256 r = rewards + cost;
        if (r < minCap) r = minCap;
        return r < maxCap ? r : maxCap;
    }

    function getRequiredMargins(uint128 id) public view returns (uint256 im, uint256 mm, uint256 reward) {
        uint256[] storage ms = accountMarkets[id];
        if (ms.length == 0) return (0, 0, 0);
        uint256 flagTotal;
        uint256 windows;
        for (uint256 i = 0; i < ms.length; i++) {
            Market storage m = markets[uint128(ms[i])];
            int128 size = positions[id][uint128(ms[i])].size;
            (uint256 pim, uint256 pmm, uint256 notional) = _margins(m, size);
            im += pim;
            mm += pmm;
            flagTotal += (notional * m.flagRewardRatio) / UNIT;
            uint256 abs = size < 0 ? uint256(-int256(size)) : uint256(int256(size));
            uint256 w = _maxInWindow(m);
            uint256 n = w == 0 ? 0 : abs / w + (abs % w == 0 ? 0 : 1);   // MathUtil.ceilDivide
            if (n > windows) windows = n;
        }
        uint256 coll = _collateralValue(id);
        uint256 collReward = (coll * collateralLiquidateRewardRatio) / UNIT;
        uint256 accumulated = flagTotal > collReward ? flagTotal : collReward;
        uint256 flagAndLiquidate = _keeperReward(accumulated, flagKeeperCost + liquidateKeeperCost, coll);
        uint256 extra = windows == 0 ? 0 : _keeperReward(0, liquidateKeeperCost, 0) * (windows - 1);
        reward = flagAndLiquidate + extra;
    }

    function canLiquidate(uint128 id) external view returns (bool) {
        (, uint256 mm, uint256 reward) = getRequiredMargins(id);
        return int256(mm + reward) > getAvailableMargin(id);
    }
}
