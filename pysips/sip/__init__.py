"""pysips.sip."""
