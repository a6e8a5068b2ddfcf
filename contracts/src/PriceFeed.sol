// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PriceFeed (devnet)
/// @notice A Chainlink-compatible price feed: AggregatorV3Interface (decimals, description,
///         version, getRoundData, latestRoundData) and the legacy AggregatorInterface getters, with
///         an admin-only round update for the devnet. Round ids follow Chainlink proxies:
///         (phaseId << 64) | aggregatorRoundId, phase 1.
contract PriceFeed {
    error NotAdmin(address caller);
    error NoDataPresent();

    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
    }

    uint256 public constant version = 4;
    uint80 private constant PHASE = uint80(1) << 64;

    uint8 public immutable decimals;
    address public immutable admin;
    string public description;

    uint64 private latestAggregatorRound;
    mapping(uint64 => Round) private rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        admin = msg.sender;
        _push(initialAnswer, block.timestamp);
    }

    /// Start a new round with `answer`, stamped with the current block time.
    function setAnswer(int256 answer) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _push(answer, block.timestamp);
    }

    /// Start a new round with an explicit `updatedAt` (0 = block time), e.g. to make a price stale.
    function setRound(int256 answer, uint256 updatedAt) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _push(answer, updatedAt == 0 ? block.timestamp : updatedAt);
    }

    function _push(int256 answer, uint256 updatedAt) private {
        uint64 r = latestAggregatorRound + 1;
        latestAggregatorRound = r;
        rounds[r] = Round(answer, uint64(updatedAt), uint64(updatedAt));
        emit AnswerUpdated(answer, PHASE | r, updatedAt);
    }

    function _round(uint80 roundId) private view returns (Round memory rd, uint64 r) {
        if (roundId >> 64 != 1) revert NoDataPresent();
        r = uint64(roundId);
        rd = rounds[r];
        if (rd.updatedAt == 0) revert NoDataPresent();
    }

    function getRoundData(uint80 _roundId)
        public view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        (Round memory rd,) = _round(_roundId);
        return (_roundId, rd.answer, rd.startedAt, rd.updatedAt, _roundId);
    }

    function latestRoundData()
        external view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return getRoundData(PHASE | latestAggregatorRound);
    }

    function latestAnswer() external view returns (int256) {
        return rounds[latestAggregatorRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return rounds[latestAggregatorRound].updatedAt;
    }

    function latestRound() external view returns (uint256) {
        return PHASE | latestAggregatorRound;
    }

    function getAnswer(uint256 roundId) external view returns (int256) {
        return rounds[uint64(roundId)].answer;
    }

    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return rounds[uint64(roundId)].updatedAt;
    }
}
