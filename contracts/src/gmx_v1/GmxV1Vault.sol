// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title GmxV1Vault (devnet)
/// @notice The read surface of the GMX v1 Vault with its storage semantics, written for defi-perps:
///         `positions(bytes32)` (the public getter of the Position struct), `getPosition`,
///         `getPositionKey` (keccak256 of abi.encodePacked(account, collateralToken, indexToken, isLong)),
///         the per-token pool state (poolAmounts, reservedAmounts, guaranteedUsd, globalShortSizes,
///         globalShortAveragePrices, cumulativeFundingRates, lastFundingTimes), token config, the
///         min/max price getters, getDelta / getPositionDelta, getFundingFee / getPositionFee,
///         getNextFundingRate and validateLiquidation, and the position events with the deployed
///         signatures. Rules as documented for gmx-io/gmx-contracts contracts/core/Vault.sol and
///         VaultUtils.sol @ fe55c4ba (../shared/reference/protocols.md §2). Prices are set by the
///         devnet (the deployed Vault asks its VaultPriceFeed); positions are written by the devnet
///         seeder with the events a real increase, close or liquidation emits.
contract GmxV1Vault {
    struct Position {
        uint256 size;
        uint256 collateral;
        uint256 averagePrice;
        uint256 entryFundingRate;
        uint256 reserveAmount;
        int256 realisedPnl;
        uint256 lastIncreasedTime;
    }

    struct SeedPosition {
        address account;
        address collateralToken;
        address indexToken;
        bool isLong;
        Position p;
    }

    struct TokenState {
        uint256 poolAmount;
        uint256 reservedAmount;
        uint256 guaranteedUsd;
        uint256 globalShortSize;
        uint256 globalShortAveragePrice;
        uint256 cumulativeFundingRate;
        uint256 lastFundingTime;
    }

    error NotGov(address caller);

    uint256 public constant BASIS_POINTS_DIVISOR = 10000;
    uint256 public constant FUNDING_RATE_PRECISION = 1000000;
    uint256 public constant PRICE_PRECISION = 10 ** 30;

    address public gov;
    uint256 public maxLeverage = 50 * 10000;
    uint256 public liquidationFeeUsd;
    uint256 public marginFeeBasisPoints = 10;
    uint256 public minProfitTime;
    uint256 public fundingInterval = 8 hours;
    uint256 public fundingRateFactor;
    uint256 public stableFundingRateFactor;
    bool public inPrivateLiquidationMode;

    address[] public allWhitelistedTokens;
    mapping(address => bool) public whitelistedTokens;
    mapping(address => uint256) public tokenDecimals;
    mapping(address => uint256) public minProfitBasisPoints;
    mapping(address => bool) public stableTokens;
    mapping(address => bool) public shortableTokens;
    mapping(address => uint256) public poolAmounts;
    mapping(address => uint256) public reservedAmounts;
    mapping(address => uint256) public guaranteedUsd;
    mapping(address => uint256) public cumulativeFundingRates;
    mapping(address => uint256) public lastFundingTimes;
    mapping(address => uint256) public globalShortSizes;
    mapping(address => uint256) public globalShortAveragePrices;
    mapping(bytes32 => Position) public positions;
    mapping(address => uint256) private minPrices;
    mapping(address => uint256) private maxPrices;

    event IncreasePosition(bytes32 key, address account, address collateralToken, address indexToken,
        uint256 collateralDelta, uint256 sizeDelta, bool isLong, uint256 price, uint256 fee);
    event DecreasePosition(bytes32 key, address account, address collateralToken, address indexToken,
        uint256 collateralDelta, uint256 sizeDelta, bool isLong, uint256 price, uint256 fee);
    event LiquidatePosition(bytes32 key, address account, address collateralToken, address indexToken, bool isLong,
        uint256 size, uint256 collateral, uint256 reserveAmount, int256 realisedPnl, uint256 markPrice);
    event UpdatePosition(bytes32 key, uint256 size, uint256 collateral, uint256 averagePrice, uint256 entryFundingRate,
        uint256 reserveAmount, int256 realisedPnl, uint256 markPrice);
    event ClosePosition(bytes32 key, uint256 size, uint256 collateral, uint256 averagePrice, uint256 entryFundingRate,
        uint256 reserveAmount, int256 realisedPnl);

    constructor() {
        gov = msg.sender;
    }

    modifier onlyGov() {
        if (msg.sender != gov) revert NotGov(msg.sender);
        _;
    }

    // ---- reads ----------------------------------------------------------------------------------
    function allWhitelistedTokensLength() external view returns (uint256) {
        return allWhitelistedTokens.length;
    }

    function getMaxPrice(address _token) public view returns (uint256) {
        uint256 p = maxPrices[_token];
        require(p > 0, "VaultPriceFeed: invalid price");
        return p;
    }

    function getMinPrice(address _token) public view returns (uint256) {
        uint256 p = minPrices[_token];
        require(p > 0, "VaultPriceFeed: invalid price");
        return p;
    }

    function getPositionKey(address _account, address _collateralToken, address _indexToken, bool _isLong)
        public pure returns (bytes32)
    {
        return keccak256(abi.encodePacked(_account, _collateralToken, _indexToken, _isLong));
    }

    function getPosition(address _account, address _collateralToken, address _indexToken, bool _isLong)
        public view returns (uint256, uint256, uint256, uint256, uint256, uint256, bool, uint256)
    {
        Position memory p = positions[getPositionKey(_account, _collateralToken, _indexToken, _isLong)];
        uint256 pnl = p.realisedPnl > 0 ? uint256(p.realisedPnl) : uint256(-p.realisedPnl);
        return (p.size, p.collateral, p.averagePrice, p.entryFundingRate, p.reserveAmount, pnl, p.realisedPnl >= 0,
                p.lastIncreasedTime);
    }

    function getDelta(address _indexToken, uint256 _size, uint256 _averagePrice, bool _isLong, uint256 _lastIncreasedTime)
        public view returns (bool, uint256)
    {
        require(_averagePrice > 0, "Vault: invalid _averagePrice");
        uint256 price = _isLong ? getMinPrice(_indexToken) : getMaxPrice(_indexToken);
        uint256 priceDelta = _averagePrice > price ? _averagePrice - price : price - _averagePrice;
        uint256 delta = _size * priceDelta / _averagePrice;
        bool hasProfit = _isLong ? price > _averagePrice : _averagePrice > price;
        // inside minProfitTime a profit up to minProfitBasisPoints of the size counts as none
        uint256 minBps = block.timestamp > _lastIncreasedTime + minProfitTime ? 0 : minProfitBasisPoints[_indexToken];
        if (hasProfit && delta * BASIS_POINTS_DIVISOR <= _size * minBps) {
            delta = 0;
        }
        return (hasProfit, delta);
    }

    function getPositionDelta(address _account, address _collateralToken, address _indexToken, bool _isLong)
        public view returns (bool, uint256)
    {
        Position memory p = positions[getPositionKey(_account, _collateralToken, _indexToken, _isLong)];
        return getDelta(_indexToken, p.size, p.averagePrice, _isLong, p.lastIncreasedTime);
    }

    function getFundingFee(address, address _collateralToken, address, bool, uint256 _size, uint256 _entryFundingRate)
        public view returns (uint256)
    {
        if (_size == 0) return 0;
        uint256 rate = cumulativeFundingRates[_collateralToken] - _entryFundingRate;
        if (rate == 0) return 0;
        return _size * rate / FUNDING_RATE_PRECISION;
    }

    function getPositionFee(address, address, address, bool, uint256 _sizeDelta) public view returns (uint256) {
        if (_sizeDelta == 0) return 0;
        // the fee is what the size loses, so it rounds up
        uint256 afterFeeUsd = _sizeDelta * (BASIS_POINTS_DIVISOR - marginFeeBasisPoints) / BASIS_POINTS_DIVISOR;
        return _sizeDelta - afterFeeUsd;
    }

    function getNextFundingRate(address _token) public view returns (uint256) {
        if (lastFundingTimes[_token] + fundingInterval > block.timestamp) return 0;
        uint256 intervals = (block.timestamp - lastFundingTimes[_token]) / fundingInterval;
        uint256 poolAmount = poolAmounts[_token];
        if (poolAmount == 0) return 0;
        uint256 factor = stableTokens[_token] ? stableFundingRateFactor : fundingRateFactor;
        return factor * reservedAmounts[_token] * intervals / poolAmount;
    }

    /// (state, marginFees): 0 healthy, 1 liquidatable, 2 over max leverage (closed, trader keeps the rest).
    /// `_raise` false is what liquidatePosition asks: a profit then counts toward paying the fees.
    function validateLiquidation(address _account, address _collateralToken, address _indexToken, bool _isLong,
        bool _raise) public view returns (uint256, uint256)
    {
        Position memory p = positions[getPositionKey(_account, _collateralToken, _indexToken, _isLong)];
        (bool hasProfit, uint256 delta) = getDelta(_indexToken, p.size, p.averagePrice, _isLong, p.lastIncreasedTime);
        uint256 marginFees = getFundingFee(_account, _collateralToken, _indexToken, _isLong, p.size, p.entryFundingRate)
            + getPositionFee(_account, _collateralToken, _indexToken, _isLong, p.size);
        if (!hasProfit && p.collateral < delta) {
            require(!_raise, "Vault: losses exceed collateral");
            return (1, marginFees);
        }
        uint256 remaining = p.collateral;
        if (!hasProfit) {
            remaining = p.collateral - delta;
        }
        if (!_raise && hasProfit) {
            remaining = p.collateral + delta;
        }
        if (remaining < marginFees) {
            require(!_raise, "Vault: fees exceed collateral");
            return (1, remaining);
        }
        if (remaining < marginFees + liquidationFeeUsd) {
            require(!_raise, "Vault: liquidation fees exceed collateral");
            return (1, marginFees);
        }
        if (remaining * maxLeverage < p.size * BASIS_POINTS_DIVISOR) {
            require(!_raise, "Vault: maxLeverage exceeded");
            return (2, marginFees);
        }
        return (0, marginFees);
    }

    // ---- devnet configuration (gov) -------------------------------------------------------------
    function setParams(uint256 _maxLeverage, uint256 _liquidationFeeUsd, uint256 _marginFeeBasisPoints,
        uint256 _minProfitTime, uint256 _fundingInterval, uint256 _fundingRateFactor, uint256 _stableFundingRateFactor,
        bool _inPrivateLiquidationMode) external onlyGov
    {
        maxLeverage = _maxLeverage;
        liquidationFeeUsd = _liquidationFeeUsd;
        marginFeeBasisPoints = _marginFeeBasisPoints;
        minProfitTime = _minProfitTime;
        fundingInterval = _fundingInterval;
        fundingRateFactor = _fundingRateFactor;
        stableFundingRateFactor = _stableFundingRateFactor;
        inPrivateLiquidationMode = _inPrivateLiquidationMode;
    }

    function setTokenConfig(address _token, uint256 _decimals, uint256 _minProfitBps, bool _isStable, bool _isShortable)
        external onlyGov
    {
        if (!whitelistedTokens[_token]) {
            allWhitelistedTokens.push(_token);
            whitelistedTokens[_token] = true;
        }
        tokenDecimals[_token] = _decimals;
        minProfitBasisPoints[_token] = _minProfitBps;
        stableTokens[_token] = _isStable;
        shortableTokens[_token] = _isShortable;
    }

    function setTokenState(address _token, TokenState calldata s) external onlyGov {
        poolAmounts[_token] = s.poolAmount;
        reservedAmounts[_token] = s.reservedAmount;
        guaranteedUsd[_token] = s.guaranteedUsd;
        globalShortSizes[_token] = s.globalShortSize;
        globalShortAveragePrices[_token] = s.globalShortAveragePrice;
        cumulativeFundingRates[_token] = s.cumulativeFundingRate;
        lastFundingTimes[_token] = s.lastFundingTime;
    }

    function setPrices(address[] calldata _tokens, uint256[] calldata _min, uint256[] calldata _max) external onlyGov {
        for (uint256 i = 0; i < _tokens.length; i++) {
            minPrices[_tokens[i]] = _min[i];
            maxPrices[_tokens[i]] = _max[i];
        }
    }

    /// Write positions as an increase does, with its events (IncreasePosition then UpdatePosition).
    function seedPositions(SeedPosition[] calldata _seeds) external onlyGov {
        for (uint256 i = 0; i < _seeds.length; i++) {
            SeedPosition calldata s = _seeds[i];
            bytes32 key = getPositionKey(s.account, s.collateralToken, s.indexToken, s.isLong);
            positions[key] = s.p;
            emit IncreasePosition(key, s.account, s.collateralToken, s.indexToken, s.p.collateral, s.p.size, s.isLong,
                                  s.p.averagePrice, 0);
            emit UpdatePosition(key, s.p.size, s.p.collateral, s.p.averagePrice, s.p.entryFundingRate,
                                s.p.reserveAmount, s.p.realisedPnl, s.p.averagePrice);
        }
    }

    /// Close a position fully as a decrease does (DecreasePosition then ClosePosition), or as a
    /// liquidation does (LiquidatePosition), and delete it.
    function removePosition(address _account, address _collateralToken, address _indexToken, bool _isLong,
        bool _liquidated, uint256 _markPrice) external onlyGov
    {
        bytes32 key = getPositionKey(_account, _collateralToken, _indexToken, _isLong);
        Position memory p = positions[key];
        if (_liquidated) {
            emit LiquidatePosition(key, _account, _collateralToken, _indexToken, _isLong, p.size, p.collateral,
                                   p.reserveAmount, p.realisedPnl, _markPrice);
        } else {
            emit DecreasePosition(key, _account, _collateralToken, _indexToken, p.collateral, p.size, _isLong,
                                  _markPrice, 0);
            emit ClosePosition(key, p.size, p.collateral, p.averagePrice, p.entryFundingRate, p.reserveAmount,
                               p.realisedPnl);
        }
        delete positions[key];
    }
}
