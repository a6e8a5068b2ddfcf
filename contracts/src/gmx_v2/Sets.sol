// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Sets
/// @notice Insertion-ordered sets of bytes32 with O(1) add/remove/contains.
/// @dev Index semantics match what GMX's DataStore exposes (OpenZeppelin EnumerableSet underneath):
///      `add` appends; `remove` moves the last element into the removed slot and pops. Readers page
///      through `valuesAt(start, end)`, so the order after removals must be the same as on GMX or a
///      reader tested here would page differently there. Addresses and uints are stored as bytes32.
library Sets {
    struct Set {
        bytes32[] items;
        // 1-based slot of each member in `items`; 0 means absent.
        mapping(bytes32 => uint256) slot;
    }

    function add(Set storage s, bytes32 value) internal returns (bool) {
        if (s.slot[value] != 0) return false;
        s.items.push(value);
        s.slot[value] = s.items.length;
        return true;
    }

    function remove(Set storage s, bytes32 value) internal returns (bool) {
        uint256 slot = s.slot[value];
        if (slot == 0) return false;
        uint256 lastSlot = s.items.length;
        if (slot != lastSlot) {
            bytes32 moved = s.items[lastSlot - 1];
            s.items[slot - 1] = moved;
            s.slot[moved] = slot;
        }
        s.items.pop();
        delete s.slot[value];
        return true;
    }

    function contains(Set storage s, bytes32 value) internal view returns (bool) {
        return s.slot[value] != 0;
    }

    function length(Set storage s) internal view returns (uint256) {
        return s.items.length;
    }

    /// @dev `end` is clamped to the length; `start > end` (after clamping) reverts with an
    ///      arithmetic panic, as GMX's EnumerableValues.valuesAt does.
    function valuesAt(Set storage s, uint256 start, uint256 end) internal view returns (bytes32[] memory out) {
        uint256 n = s.items.length;
        if (end > n) end = n;
        out = new bytes32[](end - start);
        for (uint256 i = start; i < end; ++i) {
            out[i - start] = s.items[i];
        }
    }
}
