"""SMKI PMA governance (R-GOV-1..6): recorded decisions and what they change."""
