"""Reports: terminal summaries, JSON, tables and plots of results."""
