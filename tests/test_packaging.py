"""The installed (non-editable) package must carry abis/, chains/ and contracts/ as data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True)
    (whl,) = out.glob("defi_perps-*.whl")
    return whl


def _repo_files(folder: str) -> set[str]:
    return {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in {".json", ".toml", ".md", ".sol"}}


@pytest.mark.parametrize("folder", ["abis", "chains", "contracts"])
def test_wheel_ships_data_folder(wheel: Path, folder: str) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix(f"defi_perps/_data/{folder}/") for n in names
               if n.startswith(f"defi_perps/_data/{folder}/")}
    expected = _repo_files(folder)
    assert expected, f"{folder}/ is empty in the checkout"
    assert expected <= shipped, f"missing from wheel: {sorted(expected - shipped)[:5]}"


def test_wheel_has_no_stray_top_level_modules(wheel: Path) -> None:
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"defi_perps"}


def test_installed_wheel_finds_its_data(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    code = ("from defi_perps.resources import data_dir, bundled_chains;"
            "import sys; p = data_dir('chains'); print(p); assert '_data' in str(p), p;"
            "assert 'arbitrum' in bundled_chains(), bundled_chains()")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env={"PYTHONPATH": str(target)})


def test_installed_wheel_migrates_a_database(wheel: Path, tmp_path: Path) -> None:
    """The Alembic migrations ship in the package: a non-editable install creates the schema."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    code = ("from defi_perps.store.db import upgrade_database; from defi_perps.store import migrate;"
            f"r = upgrade_database('sqlite:///{tmp_path / 'w.db'}'); print(r);"
            "assert r['after'] == migrate.HEAD, r; assert '_data' not in migrate.MIGRATIONS.as_posix()")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
