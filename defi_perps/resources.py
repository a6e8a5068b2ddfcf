"""Locate the data that ships with the package: ABIs, chain files, devnet contract artifacts.

The folders live at the repository root (``abis/``, ``chains/``, ``contracts/``). In an installed
wheel setup.py places them in ``defi_perps/_data/<name>/``; in a checkout or editable install they
are found beside the package. This module is the only place that knows both layouts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from defi_perps.exceptions import ConfigError

_DATA_DIRS = ("abis", "chains", "contracts")


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """Return the directory of a shipped data folder (``abis``, ``chains`` or ``contracts``)."""
    if name not in _DATA_DIRS:
        raise ValueError(f"unknown data folder {name!r}")
    installed = Path(str(resources.files("defi_perps"))) / "_data" / name
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise ConfigError(f"data folder {name!r} is missing from this installation of defi-perps")


@lru_cache(maxsize=None)
def load_abi(protocol: str, contract: str) -> list[dict[str, Any]]:
    """Load ``abis/<protocol>/<contract>.json`` (a JSON ABI list)."""
    path = data_dir("abis") / protocol / f"{contract}.json"
    if not path.is_file():
        raise ConfigError(f"no ABI for {protocol}/{contract} (looked for {path})")
    data = json.loads(path.read_text())
    return data["abi"] if isinstance(data, dict) else data


def chain_path(name: str) -> Path:
    """Path of the bundled chain file ``chains/<name>.toml``."""
    return data_dir("chains") / f"{name}.toml"


def bundled_chains() -> list[str]:
    """Names of the chain files that ship with the package."""
    return sorted(p.stem for p in data_dir("chains").glob("*.toml"))
