"""pysips.store."""
