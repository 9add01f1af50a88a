"""Which addresses pressbot may connect to on a user's or a feed's say-so (pure logic, no I/O).

A URL typed in the dashboard, found in a feed or pushed by a CMS must not make the server
talk to itself or its neighbours (SSRF): loopback, private networks, link-local (the cloud
metadata endpoint 169.254.169.254), multicast, reserved and unspecified addresses are
refused, whatever way of writing them (IPv4-mapped IPv6, NAT64, 6to4, Teredo) is used.
A newsroom whose CMS is on the LAN lists its networks in PRESSBOT_ALLOWED_PRIVATE_NETWORKS,
as Mastodon does with ALLOWED_PRIVATE_ADDRESSES.

The check is made on the address actually connected to (bot/net/transport.py), never on a
name, so DNS rebinding between a check and the connection cannot slip past it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Union

from bot.errors import PermanentError

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

ALLOWED_SCHEMES = frozenset({"http", "https"})
SETTING = "PRESSBOT_ALLOWED_PRIVATE_NETWORKS"

# Networks Python's ipaddress (3.11) calls global but that no newsroom's feed lives on.
_EXTRA_DENIED = tuple(ipaddress.ip_network(n) for n in (
    "224.0.0.0/4",        # IPv4 multicast (is_global is True for it on 3.11)
    "ff00::/8",           # IPv6 multicast
    "100.64.0.0/10",      # carrier-grade NAT (shared address space)
    "64:ff9b:1::/48",     # local-use NAT64 (RFC 8215)
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")   # the well-known prefix embeds an IPv4 address


class OutboundRefused(PermanentError):
    """A request pressbot will not make. Permanent: asking again gets the same answer, so a
    source refused this way is not polled again until someone changes it."""


def parse_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses), comma- or space-separated. ValueError names a bad entry."""
    if value is None:
        return ()
    entries = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry.strip()!r} is not a network (expected CIDR like "
                             "10.0.0.0/8, fd00::/8 or a single address)") from None
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo): the address
    that is really reached is one of these, so each must pass the check too."""
    if address.version != 6:
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet, also through any IPv4 it embeds."""
    if (address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or not address.is_global or any(address in n for n in _EXTRA_DENIED
                                            if n.version == address.version)):
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


@dataclass(frozen=True)
class OutboundPolicy:
    """Public addresses, plus the private networks an operator allowed."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, value: str | Iterable[str] | None) -> "OutboundPolicy":
        return cls(parse_networks(value))

    def permits(self, address: IPAddress | str) -> bool:
        address = ipaddress.ip_address(address) if isinstance(address, str) else address
        if address.version == 6 and address.scope_id:
            return False  # fe80::1%eth0 and the like: a zone is a local interface
        if any(address in n for n in self.allowed_networks if n.version == address.version):
            return True
        return is_public(address)

    def check_scheme(self, url: str, scheme: str) -> None:
        if scheme.lower() not in ALLOWED_SCHEMES:
            raise OutboundRefused(f"{url}: refused: only http and https URLs are fetched")

    def refusal(self, host: str) -> OutboundRefused:
        """One message for every refused address: it says nothing about the port (open or
        closed is never tried), so the error cannot be used to scan the private network."""
        return OutboundRefused(
            f"refused: {host} is not a public address (loopback, private, link-local or "
            f"reserved); to reach a server on your own network, add its network to {SETTING}")
