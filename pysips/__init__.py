"""pysips: OpenSIPS's routing-script language and back-to-back user agent, in Python."""

__version__ = "0.1.0"
