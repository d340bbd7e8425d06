"""Fast, hermetic unit tests (no network, no cloud services)."""
