"""Packaging glue: ship the top-level data folders inside the installed package.

abis/, chains/ and contracts/ stay at the repository root (data, reviewed as data); in a wheel they
land in defi_perps/_data/<name>/, where defi_perps.resources finds them. Metadata is in pyproject.
"""

from setuptools import find_packages, setup

DATA_DIRS = {"abis": ["**/*.json", "**/*.md"], "chains": ["*.toml", "*.md"],
             "contracts": ["**/*.sol", "**/*.json", "**/*.md"]}

packages = find_packages(include=["defi_perps", "defi_perps.*"])
package_dir = {f"defi_perps._data.{name}": name for name in DATA_DIRS}
package_data = {f"defi_perps._data.{name}": globs for name, globs in DATA_DIRS.items()}
package_data["defi_perps"] = ["py.typed", "**/*.toml", "**/*.csv"]

setup(packages=packages + list(package_dir), package_dir=package_dir, package_data=package_data)
