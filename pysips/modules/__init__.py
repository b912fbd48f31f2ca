"""pysips.modules."""
