"""The SMKI Repository (R-REP-1..7): what it holds, who may read it, and how it is searched."""
