"""Oracle adapters: signed attestations of off-chain facts (not yet built; see the oracle issue)."""
