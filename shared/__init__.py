"""Code every part of imgpipe shares: errors, variant specs, limits, key layout, settings."""
