"""pysips.b2b."""
