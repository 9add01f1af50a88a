"""Fetching an article's image for a platform upload (X media, Bluesky card thumbnail).

The image URL comes from a feed or a CMS, so it goes through the outbound policy like any
fetch (bot/net): no private addresses, also after a redirect, and one total deadline."""

from __future__ import annotations

from bot.net.policy import OutboundPolicy
from bot.net.transport import deadline, guarded_client

MAX_REDIRECTS = 5


def download_image(url: str, *, max_bytes: int, timeout: float,
                   policy: OutboundPolicy) -> tuple[bytes, str]:
    """The image's bytes and content type. Raises httpx errors, OutboundRefused, or
    ValueError when the answer is not an image or is larger than the platform accepts (read
    no further)."""
    policy.check_scheme(url, url.split(":", 1)[0] if ":" in url else "")
    with guarded_client(policy, timeout=timeout, follow_redirects=True,
                        max_redirects=MAX_REDIRECTS) as client, deadline(timeout), \
            client.stream("GET", url) as response:
        response.raise_for_status()
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not content_type.startswith("image/"):
            raise ValueError(f"not an image: {content_type or 'no content type'}")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ValueError(f"image over {max_bytes} bytes")
            chunks.append(chunk)
    return b"".join(chunks), content_type
