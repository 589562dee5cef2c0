"""Demo data: a deterministic district of subsidy policies and applications moving through every stage,
with injected anomalies for the 29 supervision points (``plan``), loaded through the product's own
services (``load``). ``alliance demo load`` and ``alliance up --demo`` run it."""
