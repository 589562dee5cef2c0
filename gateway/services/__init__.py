"""Plain service functions behind the routers and the CLI."""
