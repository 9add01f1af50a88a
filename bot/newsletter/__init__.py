"""Digests: rendering (once per variant), personalisation, MIME, DKIM, tokens."""
