"""pysips.script."""
