// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ReferralStorage (devnet)
/// @notice The read surface GMX v2 uses from the referral program's storage
///         (gmx-io/gmx-synthetics contracts/referral/IReferralStorage.sol): a trader's code, a
///         code's owner, an owner's tier and custom discount share, and each tier's total rebate
///         and trader discount share (basis points). Writes are owner-only batch setters for
///         seeding; GMX's own registration and governance paths are not reproduced.
contract ReferralStorage {
    error NotOwner(address caller);
    error LengthMismatch();

    struct Tier {
        uint256 totalRebate;   // e.g. 1000 = 10 %
        uint256 discountShare; // share of totalRebate given to the trader, e.g. 5000 = 50 %
    }

    address public immutable owner;
    mapping(bytes32 => address) public codeOwners;
    mapping(address => bytes32) public traderReferralCodes;
    mapping(address => uint256) public referrerTiers;
    mapping(address => uint256) public referrerDiscountShares;
    mapping(uint256 => Tier) public tiers;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    function getTraderReferralInfo(address account) external view returns (bytes32 code, address referrer) {
        code = traderReferralCodes[account];
        if (code != bytes32(0)) referrer = codeOwners[code];
    }

    function setTier(uint256 tierId, uint256 totalRebate, uint256 discountShare) external onlyOwner {
        tiers[tierId] = Tier(totalRebate, discountShare);
    }

    function setCodeOwners(bytes32[] calldata codes, address[] calldata owners) external onlyOwner {
        if (codes.length != owners.length) revert LengthMismatch();
        for (uint256 i = 0; i < codes.length; ++i) codeOwners[codes[i]] = owners[i];
    }

    function setReferrers(address[] calldata referrers, uint256[] calldata tierIds, uint256[] calldata shares)
        external onlyOwner
    {
        if (referrers.length != tierIds.length || referrers.length != shares.length) revert LengthMismatch();
        for (uint256 i = 0; i < referrers.length; ++i) {
            referrerTiers[referrers[i]] = tierIds[i];
            referrerDiscountShares[referrers[i]] = shares[i];
        }
    }

    function setTraderReferralCodes(address[] calldata accounts, bytes32[] calldata codes) external onlyOwner {
        if (accounts.length != codes.length) revert LengthMismatch();
        for (uint256 i = 0; i < accounts.length; ++i) traderReferralCodes[accounts[i]] = codes[i];
    }
}
