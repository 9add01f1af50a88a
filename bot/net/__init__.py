"""Outbound network access: one policy for every request pressbot makes on its own to an
address it was given (feeds, WordPress, discovery, test fetch, images for social posts)."""
