"""Transports that carry finished messages: SMTP and the outbox."""
