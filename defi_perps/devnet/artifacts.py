"""Load the compiled devnet contracts (``contracts/build/<Name>.json``)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from defi_perps.exceptions import DevnetError
from defi_perps.resources import data_dir


@lru_cache(maxsize=None)
def artifact(name: str) -> dict[str, Any]:
    path = data_dir("contracts") / "build" / f"{name}.json"
    if not path.is_file():
        raise DevnetError(f"compiled contract {name} missing ({path}); run `python -m defi_perps.devnet.compile`")
    return json.loads(path.read_text())
