"""imgpipe test suite."""
