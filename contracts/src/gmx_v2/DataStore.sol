// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Sets} from "./Sets.sol";

/// @title DataStore (devnet)
/// @notice A generic key-value store with the external interface of GMX v2's DataStore
///         (gmx-io/gmx-synthetics contracts/data/DataStore.sol; ABI in abis/gmx_v2/DataStore.json):
///         typed value maps keyed by bytes32 and bytes32/address/uint sets keyed by a set key.
/// @dev Written for the defi-perps devnet. GMX gates writes through a RoleStore CONTROLLER role;
///      here the deployer keeps a controller list. Reads are open, as on GMX.
contract DataStore {
    using Sets for Sets.Set;

    /// Same error GMX's RoleModule raises, so callers decode one shape.
    error Unauthorized(address msgSender, string role);

    mapping(bytes32 => uint256) public uintValues;
    mapping(bytes32 => int256) public intValues;
    mapping(bytes32 => address) public addressValues;
    mapping(bytes32 => bool) public boolValues;
    mapping(bytes32 => string) public stringValues;
    mapping(bytes32 => bytes32) public bytes32Values;

    mapping(bytes32 => Sets.Set) internal bytes32Sets;
    mapping(bytes32 => Sets.Set) internal addressSets;
    mapping(bytes32 => Sets.Set) internal uintSets;

    address public immutable admin;
    mapping(address => bool) public isController;

    constructor() {
        admin = msg.sender;
        isController[msg.sender] = true;
    }

    modifier onlyController() {
        if (!isController[msg.sender]) revert Unauthorized(msg.sender, "CONTROLLER");
        _;
    }

    function setController(address account, bool enabled) external {
        if (msg.sender != admin) revert Unauthorized(msg.sender, "ADMIN");
        isController[account] = enabled;
    }

    // ---- uint ------------------------------------------------------------------------------
    function getUint(bytes32 key) external view returns (uint256) { return uintValues[key]; }

    function setUint(bytes32 key, uint256 value) external onlyController returns (uint256) {
        uintValues[key] = value;
        return value;
    }

    function removeUint(bytes32 key) external onlyController { delete uintValues[key]; }

    /// @dev Reverts with `errorMessage` when the result would go below zero.
    function applyDeltaToUint(bytes32 key, int256 value, string memory errorMessage)
        external onlyController returns (uint256)
    {
        uint256 current = uintValues[key];
        if (value < 0 && uint256(-value) > current) revert(errorMessage);
        uint256 next = value < 0 ? current - uint256(-value) : current + uint256(value);
        uintValues[key] = next;
        return next;
    }

    function applyDeltaToUint(bytes32 key, uint256 value) external onlyController returns (uint256) {
        uint256 next = uintValues[key] + value;
        uintValues[key] = next;
        return next;
    }

    /// @dev Like applyDeltaToUint but floors at zero instead of reverting.
    function applyBoundedDeltaToUint(bytes32 key, int256 value) external onlyController returns (uint256) {
        uint256 current = uintValues[key];
        uint256 next;
        if (value < 0) {
            uint256 dec = uint256(-value);
            next = dec > current ? 0 : current - dec;
        } else {
            next = current + uint256(value);
        }
        uintValues[key] = next;
        return next;
    }

    function incrementUint(bytes32 key, uint256 value) external onlyController returns (uint256) {
        uint256 next = uintValues[key] + value;
        uintValues[key] = next;
        return next;
    }

    function decrementUint(bytes32 key, uint256 value) external onlyController returns (uint256) {
        uint256 next = uintValues[key] - value;
        uintValues[key] = next;
        return next;
    }

    // ---- int -------------------------------------------------------------------------------
    function getInt(bytes32 key) external view returns (int256) { return intValues[key]; }

    function setInt(bytes32 key, int256 value) external onlyController returns (int256) {
        intValues[key] = value;
        return value;
    }

    function removeInt(bytes32 key) external onlyController { delete intValues[key]; }

    function applyDeltaToInt(bytes32 key, int256 value) external onlyController returns (int256) {
        int256 next = intValues[key] + value;
        intValues[key] = next;
        return next;
    }

    function incrementInt(bytes32 key, int256 value) external onlyController returns (int256) {
        int256 next = intValues[key] + value;
        intValues[key] = next;
        return next;
    }

    function decrementInt(bytes32 key, int256 value) external onlyController returns (int256) {
        int256 next = intValues[key] - value;
        intValues[key] = next;
        return next;
    }

    // ---- address / bool / string / bytes32 --------------------------------------------------
    function getAddress(bytes32 key) external view returns (address) { return addressValues[key]; }

    function setAddress(bytes32 key, address value) external onlyController returns (address) {
        addressValues[key] = value;
        return value;
    }

    function removeAddress(bytes32 key) external onlyController { delete addressValues[key]; }

    function getBool(bytes32 key) external view returns (bool) { return boolValues[key]; }

    function setBool(bytes32 key, bool value) external onlyController returns (bool) {
        boolValues[key] = value;
        return value;
    }

    function removeBool(bytes32 key) external onlyController { delete boolValues[key]; }

    function getString(bytes32 key) external view returns (string memory) { return stringValues[key]; }

    function setString(bytes32 key, string memory value) external onlyController returns (string memory) {
        stringValues[key] = value;
        return value;
    }

    function removeString(bytes32 key) external onlyController { delete stringValues[key]; }

    function getBytes32(bytes32 key) external view returns (bytes32) { return bytes32Values[key]; }

    function setBytes32(bytes32 key, bytes32 value) external onlyController returns (bytes32) {
        bytes32Values[key] = value;
        return value;
    }

    function removeBytes32(bytes32 key) external onlyController { delete bytes32Values[key]; }

    // ---- bytes32 sets ----------------------------------------------------------------------
    function containsBytes32(bytes32 setKey, bytes32 value) external view returns (bool) {
        return bytes32Sets[setKey].contains(value);
    }

    function getBytes32Count(bytes32 setKey) external view returns (uint256) {
        return bytes32Sets[setKey].length();
    }

    function getBytes32ValuesAt(bytes32 setKey, uint256 start, uint256 end) external view returns (bytes32[] memory) {
        return bytes32Sets[setKey].valuesAt(start, end);
    }

    function addBytes32(bytes32 setKey, bytes32 value) external onlyController {
        bytes32Sets[setKey].add(value);
    }

    function removeBytes32(bytes32 setKey, bytes32 value) external onlyController {
        bytes32Sets[setKey].remove(value);
    }

    // ---- address sets ----------------------------------------------------------------------
    function containsAddress(bytes32 setKey, address value) external view returns (bool) {
        return addressSets[setKey].contains(_word(value));
    }

    function getAddressCount(bytes32 setKey) external view returns (uint256) {
        return addressSets[setKey].length();
    }

    function getAddressValuesAt(bytes32 setKey, uint256 start, uint256 end) external view returns (address[] memory out) {
        bytes32[] memory words = addressSets[setKey].valuesAt(start, end);
        out = new address[](words.length);
        for (uint256 i = 0; i < words.length; ++i) out[i] = address(uint160(uint256(words[i])));
    }

    function addAddress(bytes32 setKey, address value) external onlyController {
        addressSets[setKey].add(_word(value));
    }

    function removeAddress(bytes32 setKey, address value) external onlyController {
        addressSets[setKey].remove(_word(value));
    }

    // ---- uint sets -------------------------------------------------------------------------
    function containsUint(bytes32 setKey, uint256 value) external view returns (bool) {
        return uintSets[setKey].contains(bytes32(value));
    }

    function getUintCount(bytes32 setKey) external view returns (uint256) {
        return uintSets[setKey].length();
    }

    function getUintValuesAt(bytes32 setKey, uint256 start, uint256 end) external view returns (uint256[] memory out) {
        bytes32[] memory words = uintSets[setKey].valuesAt(start, end);
        out = new uint256[](words.length);
        for (uint256 i = 0; i < words.length; ++i) out[i] = uint256(words[i]);
    }

    function addUint(bytes32 setKey, uint256 value) external onlyController {
        uintSets[setKey].add(bytes32(value));
    }

    function removeUint(bytes32 setKey, uint256 value) external onlyController {
        uintSets[setKey].remove(bytes32(value));
    }

    function _word(address a) private pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }
}
