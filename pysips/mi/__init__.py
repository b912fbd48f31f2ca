"""pysips.mi."""
