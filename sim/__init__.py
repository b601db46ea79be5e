"""sim package: see the README for its scope (not built yet)."""
