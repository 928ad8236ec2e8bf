"""X.509 values in GBCS terms: OIDs, names, extension values, time encoding, DER.

This package imports ``cryptography`` and nothing else of smki's but ``errors`` and ``ids``.
"""
