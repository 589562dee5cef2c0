"""The 3-6-29 supervision rules and scan engine (not yet built; see the audit issue)."""
