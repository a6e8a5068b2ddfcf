"""Checkout launcher: ``python cli.py …`` is ``defi-perps …``. All logic lives in defi_perps/cli.py."""

from defi_perps.cli import main

if __name__ == "__main__":
    main()
