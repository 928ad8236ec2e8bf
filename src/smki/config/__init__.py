"""Typed settings with embedded defaults; the PKI declared in one YAML file (pki.yaml)."""
