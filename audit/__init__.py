"""The 3-6-29 supervision system: the 29 points as versioned rules over a ledger snapshot and the scan
engine (``audit.rules``, ``audit.snapshot``, ``audit.engine``, ``audit.loader``, ``audit.catalogue``), and the
alert store, three layers, holds, cases and evidence packs built on their findings (``audit.findings``)."""
