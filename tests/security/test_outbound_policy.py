"""The outbound policy's address rules (pure logic): what counts as a private address in
every spelling an attacker might use, and how the allow-list widens it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.net.policy import OutboundPolicy, parse_networks

REFUSED = [
    "127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "172.16.5.4", "192.168.1.1",
    "169.254.169.254",          # the cloud metadata endpoint
    "100.64.0.1",               # carrier-grade NAT
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",   # IPv4-mapped
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",                            # NAT64 of loopback, metadata
    "2002:7f00:1::1",                                                    # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",                              # Teredo
    "::127.0.0.1",                                                       # IPv4-compatible
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4007::64"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_loopback_link_local_multicast_reserved_are_refused(address):
    assert not OutboundPolicy().permits(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address):
    assert OutboundPolicy().permits(address)


def test_the_allow_list_opens_only_the_networks_it_names():
    policy = OutboundPolicy.from_setting("10.20.0.0/16, fd00::/8 192.168.1.7")
    assert policy.permits("10.20.3.4") and policy.permits("fd00::5") and policy.permits("192.168.1.7")
    assert not policy.permits("10.21.0.1")
    assert not policy.permits("192.168.1.8")
    assert not policy.permits("127.0.0.1") and not policy.permits("169.254.169.254")


def test_every_ipv4_mapped_or_nat64_address_is_refused_as_mastodon_does():
    # Wrapped forms of a public address are refused too: a feed has no need of them, and
    # refusing the whole prefix leaves no decoding to get wrong.
    assert not OutboundPolicy().permits("::ffff:93.184.216.34")
    assert not OutboundPolicy().permits("64:ff9b::5db8:d822")


def test_a_zone_scoped_address_is_refused_even_in_an_allowed_network():
    assert not OutboundPolicy.from_setting("fe80::/10").permits("fe80::1%1")


def test_a_bad_network_names_the_entry():
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a network"):
        parse_networks("127.0.0.0/8, 10.0.0.0/33")
    with pytest.raises(ValidationError, match="(?s)allowed_private_networks.*'intranet' is not a network"):
        Settings(allowed_private_networks="intranet")


def test_the_setting_reads_a_comma_separated_list(monkeypatch, tmp_path):
    monkeypatch.setenv("PRESSBOT_HOME", str(tmp_path))
    monkeypatch.setenv("PRESSBOT_ALLOWED_PRIVATE_NETWORKS", "10.0.0.0/8,::1")
    policy = Settings().outbound_policy
    assert policy.permits("10.9.8.7") and policy.permits("::1") and not policy.permits("127.0.0.1")
