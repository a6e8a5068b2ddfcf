"""Scenarios: deterministic shocks, historical replays and TOML scenario files (built-ins included)."""

from defi_perps.scenarios.durations import parse_duration, steps_for
from defi_perps.scenarios.replay import read_replay, replay_base_path
from defi_perps.scenarios.scenario import Scenario, builtin_names, load_scenario
from defi_perps.scenarios.shocks import parse_shock, shock_base_path

__all__ = ["Scenario", "builtin_names", "load_scenario", "parse_duration", "parse_shock", "read_replay",
           "replay_base_path", "shock_base_path", "steps_for"]
