"""Orchestration: turn a book, a scenario and venue rules into engine runs (simulate, compare)."""
