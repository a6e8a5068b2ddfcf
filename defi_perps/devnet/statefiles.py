"""Files a devnet leaves in its state directory: the chain file, the book, the state record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from defi_perps.devnet.anvil import CHAIN_ID
from defi_perps.devnet.deploy import MULTICALL3

BOOK_FILE = "book.json"
CHAIN_FILE = "devnet.toml"
STATE_FILE = "state.json"
LOG_FILE = "anvil.log"


def _toml_str(s: str) -> str:
    return json.dumps(s)  # TOML basic strings share JSON's escaping for our ASCII content


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def section_text(key: str, section: dict[str, Any]) -> list[str]:
    """A ``[key]`` table (plain values; nested dicts become ``[key.sub]`` tables after it)."""
    lines = [f"[{key}]"]
    subs = {k: v for k, v in section.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in section.items() if not isinstance(v, dict)]
    lines.append("")
    for k, v in subs.items():
        lines += section_text(f"{key}.{k}", v)
    return lines


def chain_file_text(rpc_url: str, addresses: dict[str, Any], deploy_block: int, seed: int, positions: int,
                    accounts: int, sections: dict[str, dict[str, Any]] | None = None) -> str:
    """The instance's chain file: GMX v2 (the devnet's base), then each other plug-in's section."""
    lines = [
        "# Written by defi-perps devnet for one running instance; see chains/devnet.toml for the defaults.",
        'name = "devnet"',
        f"chain_id = {CHAIN_ID}",
        f"rpc_url = {_toml_str(rpc_url)}",
        f"multicall3 = {_toml_str(MULTICALL3)}",
        "multicall3_block = 0",
        "",
        "[gmx_v2]",
        f"data_store = {_toml_str(addresses['data_store'])}",
        f"reader = {_toml_str(addresses['reader'])}",
        f"deploy_block = {deploy_block}",
        'position_layout = "v2.2"',
        f"referral_storage = {_toml_str(addresses['referral_storage'])}",
        "",
        "[devnet]",
        f"seeder = {_toml_str(addresses['seeder'])}",
        "# same DataStore read through a Reader in the v2.1 Position layout (position_layout = \"v2.1\")",
        f"reader_v2_1 = {_toml_str(addresses['reader_v2_1'])}",
        f"seed = {seed}",
        f"positions = {positions}",
        f"accounts = {accounts}",
        "",
        "[devnet.tokens]",
        *(f"{sym} = {_toml_str(a)}" for sym, a in addresses["tokens"].items()),
        "",
        "[devnet.feeds]",
        *(f"{sym} = {_toml_str(a)}" for sym, a in addresses["feeds"].items()),
        "",
        "[devnet.markets]",
        *(f"{_toml_str(name)} = {_toml_str(a)}" for name, a in addresses["markets"].items()),
        "",
    ]
    for key, sec in (sections or {}).items():
        lines += section_text(key, sec)
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
