"""pressbot: a newsroom's publishing bot."""

__version__ = "0.1.0"
