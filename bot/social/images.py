"""Fetching an article's image for a platform upload (X media, Bluesky card thumbnail)."""

from __future__ import annotations

import httpx


def download_image(url: str, *, max_bytes: int, timeout: float) -> tuple[bytes, str]:
    """The image's bytes and content type. Raises httpx errors or ValueError when the
    answer is not an image or is larger than the platform accepts (read no further)."""
    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
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
