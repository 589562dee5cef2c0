"""Alliance Ledger gateway: FastAPI service."""
