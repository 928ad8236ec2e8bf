"""Certification authorities: sign what they are handed, keep the issuance cycle (R-CA-4).

Knows no policy (that is ``ra/``) and no SQL (that is ``storage/``).
"""
