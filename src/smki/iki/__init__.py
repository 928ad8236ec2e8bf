"""Interface Key Infrastructure (R-IKI-1): ARO credentials and the Service Interface tokens."""
