"""Orchestration of runs: simulate, compare, attack, audit; stores each run."""
