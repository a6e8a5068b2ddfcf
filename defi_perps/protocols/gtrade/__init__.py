"""gTrade (Gains Network v8+, GNSMultiCollatDiamond + gToken vaults) plug-in: ABIs in abis/gtrade,
reader (I/O only), pure mappers, exact math (math.py), store tables, book conversion, summary."""
