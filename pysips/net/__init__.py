"""pysips.net."""
