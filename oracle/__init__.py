"""Oracle: facts from their one authoritative source department (一数一源), read, hashed and signed.

The chain-independent part:

* :mod:`oracle.uscc` — unified social credit codes (GB 32100-2015 check character);
* :mod:`oracle.keyed` — keyed hashes (HMAC-SHA256) of USCCs, people, phones and accounts;
* :mod:`oracle.facts` — the data types (ENTERPRISE_REGISTRY, TAX_SUMMARY, SOCIAL_INSURANCE,
  BANK_RETURN), their canonical values and value / subject hashes;
* :mod:`oracle.adapters` — readers of source exports (CSV / JSON, UTF-8 or GB18030) that report
  every bad line with its file, line and reason and never let it stop the good ones;
* :mod:`oracle.signing` — EIP-712 Attestation typed data, digest, signature;
* :mod:`oracle.attestations` — parsed lines to Attestation messages;
* :mod:`oracle.sample` — a synthetic district's source files with labelled anomalies
  (``python -m oracle.sample``).
"""
