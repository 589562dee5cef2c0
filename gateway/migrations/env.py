"""Alembic environment: migrates chain.db.Base's metadata (journal, event index, gateway)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import audit.models  # noqa: F401
import chain.indexer  # noqa: F401  (registers tables)
import chain.journal  # noqa: F401
import gateway.models  # noqa: F401
import gateway.subsidies.fund_models  # noqa: F401
import gateway.subsidies.models  # noqa: F401
import oracle.models  # noqa: F401
from chain.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                     poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
