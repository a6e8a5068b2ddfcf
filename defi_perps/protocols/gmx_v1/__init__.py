"""GMX v1 (GLP Vault) plug-in: deployment model, reader, exact math, tables, book and summary."""
