"""Fast tests: no database, no app."""
