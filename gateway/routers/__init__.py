"""Thin HTTP routers over gateway.services."""
