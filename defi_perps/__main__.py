from defi_perps.cli import main

main()
