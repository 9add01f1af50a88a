"""Who hit a tracked link or pixel: a reader, a link scanner, or a mail proxy (issue 14).

Pure functions over the request's method, User-Agent and times, so the redirect decides
without I/O. The lists are of agents seen in the wild; a scanner not on them is still
caught when it fetches within seconds of delivery, which is what gateways do.
"""

from __future__ import annotations

import re



class EngagementKind:
    CLICK = "click"            # a reader followed a link
    SCANNER = "scanner"        # a link scanner or bot did (HEAD, known agent, seconds after sending)
    OPEN = "open"              # the pixel was loaded (unreliable: images may be blocked)
    PROXY_OPEN = "proxy_open"  # loaded by a mail proxy (Apple MPP, Google image proxy) or prefetched
    ALL = (CLICK, SCANNER, OPEN, PROXY_OPEN)

# Security gateways, link checkers and generic HTTP clients: a person uses a browser.
_SCANNER_RE = re.compile(
    r"bot\b|crawler|spider|scanner|preview|headless|phantomjs|python-|curl/|wget/|"
    r"go-http-client|java/|okhttp|libwww|httpclient|barracuda|mimecast|proofpoint|"
    r"safelinks|microsoft office|ms-office|forcepoint|sophos|trendmicro|fortiguard|"
    r"symantec|messagelabs|ironport|cisco|zscaler|urldefense|appengine-google|"
    r"slack|whatsapp|facebookexternalhit|skypeuripreview")
# Mail proxies fetch images for the reader's privacy (or for every message on arrival):
# Google's image proxy, Yahoo's; Apple Mail Privacy Protection fetches through Apple's
# relays with the bare agent "Mozilla/5.0" and nothing else.
_PROXY_RE = re.compile(r"googleimageproxy|ggpht\.com|yahoomailproxy|outlook-ios-imageproxy", re.I)
_APPLE_MPP_UA = "Mozilla/5.0"


def is_scanner_agent(user_agent: str | None) -> bool:
    agent = (user_agent or "").strip()
    # Lower-cased first: a case-insensitive search of this alternation costs ~90 µs, a
    # quarter of a redirect; on lower-case text without re.I it is a few µs.
    return not agent or bool(_SCANNER_RE.search(agent.lower()))


def too_soon(sent_at: int | None, now: float, window: int) -> bool:
    """Within `window` seconds of sending (0 or unknown send time: not too soon)."""
    return bool(sent_at) and 0 <= now - sent_at < window


def classify_click(method: str, user_agent: str | None, sent_at: int | None, now: float,
                   window: int) -> str:
    """CLICK for a reader; SCANNER for HEAD, a known scanner agent, or seconds after sending.
    The redirect answers both the same: a scanner must not learn it was spotted."""
    if method.upper() == "HEAD" or is_scanner_agent(user_agent) or too_soon(sent_at, now, window):
        return EngagementKind.SCANNER
    return EngagementKind.CLICK


def classify_open(method: str, user_agent: str | None, sent_at: int | None, now: float,
                  window: int) -> str | None:
    """OPEN, PROXY_OPEN (Apple MPP, image proxies, a prefetch on arrival), or None for a
    scanner's fetch (not an open at all)."""
    agent = (user_agent or "").strip()
    if agent == _APPLE_MPP_UA or _PROXY_RE.search(agent):
        return EngagementKind.PROXY_OPEN
    if method.upper() == "HEAD" or is_scanner_agent(agent):
        return None
    if too_soon(sent_at, now, window):
        return EngagementKind.PROXY_OPEN
    return EngagementKind.OPEN


def rate(part: int, whole: int) -> float | None:
    """part / whole as a fraction, None when nothing was delivered."""
    return round(part / whole, 4) if whole else None
