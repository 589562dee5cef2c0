"""Alliance Ledger chain layer: everything that talks to a node."""
