"""SSRF attacks on every outbound fetch, against real local servers: without the allow-list
pressbot connects to none of them, answers the same for open and closed ports, follows no
redirect into the private network, and stops polling a refused source. With the allow-list
(as a newsroom with a LAN CMS sets it) the same servers are reached: the refusal is the
policy's, not a broken server's."""

from __future__ import annotations

import socket

import pytest

from bot.errors import TransientError
from bot.ingest.fetch import FetchOptions, fetch, make_client
from bot.net.policy import OutboundPolicy, OutboundRefused
from bot.services import ingest
from bot.social.images import download_image
from bot.store.db import session_scope
from bot.store.models import Source
from tests.support.httpserver import LocalServer, Route
from tests.support.outbound import LOCAL_POLICY

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Secret</title>'
        b'<item><title>Internal</title><link>https://intra.example/1</link></item></channel></rss>')
STRICT = OutboundPolicy()


def get(url: str, policy: OutboundPolicy = STRICT):
    options = FetchOptions(user_agent="test", timeout=5.0, policy=policy)
    with make_client(options) as client:
        return fetch(client, url, options)


@pytest.fixture
def server():
    server = LocalServer()
    server.routes["/feed.xml"] = Route(FEED)
    server.start()
    yield server
    server.stop()


def _second_server(host: str):
    try:
        other = LocalServer(host)
    except OSError as exc:  # no IPv6 loopback on this machine
        pytest.skip(f"cannot listen on {host}: {exc}")
    other.routes["/secret"] = Route(b"internal data", content_type="text/plain")
    other.start()
    return other


@pytest.fixture
def loopback6():
    other = _second_server("::1")
    yield other
    other.stop()


@pytest.fixture
def other_host():
    """A server on 127.0.0.2: another machine of the private network, for redirects."""
    other = _second_server("127.0.0.2")
    yield other
    other.stop()


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]",
    "2130706433", "0x7f000001", "017700000001", "127.1",   # decimal, hex, octal, short forms
])
def test_loopback_in_any_spelling_is_refused_and_never_connected(server, host):
    url = f"http://{host}:{server.port}/feed.xml"
    with pytest.raises(OutboundRefused, match="refused: .* is not a public address"):
        get(url)
    assert server.requests == []


def test_the_same_server_is_reached_when_its_network_is_allowed(server):
    assert get(server.url("/feed.xml"), LOCAL_POLICY).content == FEED
    assert get(f"http://localhost:{server.port}/feed.xml", OutboundPolicy.from_setting(
        "127.0.0.0/8, ::1")).content == FEED


def test_ipv6_loopback_is_refused(loopback6):
    with pytest.raises(OutboundRefused):
        get(loopback6.url("/secret"))
    assert loopback6.requests == []
    assert get(loopback6.url("/secret"), LOCAL_POLICY).content == b"internal data"


def test_cloud_metadata_address_is_refused_before_any_connection():
    with pytest.raises(OutboundRefused, match="169.254.169.254 is not a public address"):
        get("http://169.254.169.254/latest/meta-data/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO",
                                 "ftp://example.org/feed.xml", "/etc", "dict://127.0.0.1:11211/"])
def test_non_http_schemes_are_refused(url):
    with pytest.raises(OutboundRefused, match="only http and https"):
        get(url)


def test_open_and_closed_ports_give_the_same_answer(server):
    """A port scanner learns nothing: the address is refused before any connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]   # bound, not listening: connections are refused
        errors = []
        for port in (server.port, closed_port):
            url = f"http://127.0.0.1:{port}/feed.xml"
            with pytest.raises(OutboundRefused) as caught:
                get(url)
            errors.append(str(caught.value).replace(url, "URL"))
    assert errors[0] == errors[1]
    assert server.requests == []


def test_a_redirect_into_the_private_network_is_refused(server, other_host):
    """The first hop is allowed (a LAN CMS on 127.0.0.1), the redirect target is not."""
    server.routes["/feed.xml"] = Route(status=302, headers={"Location": other_host.url("/secret")})
    only_cms = OutboundPolicy.from_setting("127.0.0.1/32")
    with pytest.raises(OutboundRefused, match="127.0.0.2 is not a public address"):
        get(server.url("/feed.xml"), only_cms)
    assert len(server.requests) == 1 and other_host.requests == []
    # Allowed, the same redirect is followed: the refusal above is the policy's.
    assert get(server.url("/feed.xml"), LOCAL_POLICY).content == b"internal data"


def test_a_redirect_to_file_or_gopher_is_refused(server):
    server.routes["/feed.xml"] = Route(status=301, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(OutboundRefused, match="only http and https"):
        get(server.url("/feed.xml"), LOCAL_POLICY)


def test_dns_rebinding_cannot_switch_the_address_after_the_check(server, other_host, monkeypatch):
    """A name that answers an allowed address when checked and another one later (DNS
    rebinding): the socket goes to the address that was checked, never to a second answer.
    The resolver is the only stand-in here (there is no DNS server in the test); the
    servers and sockets are real. 127.0.0.1 plays the public address, 127.0.0.2 the
    private one."""
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 20)
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "feeds.rebind.test":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    got = get(f"http://feeds.rebind.test:{server.port}/feed.xml",
              OutboundPolicy.from_setting("127.0.0.1/32"))
    assert got.content == FEED
    assert other_host.requests == []
    # The name, not the address, is what the server sees (virtual hosts keep working).
    assert server.requests[-1].headers["host"] == f"feeds.rebind.test:{server.port}"


def test_a_name_with_a_private_answer_among_public_ones_is_refused_whole(server, monkeypatch):
    real = socket.getaddrinfo

    def mixed(host, port, *args, **kwargs):
        if host == "mixed.rebind.test":
            return real("127.0.0.1", port, *args, **kwargs) + real("10.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(OutboundRefused, match="mixed.rebind.test is not a public address"):
        get(f"http://mixed.rebind.test:{server.port}/feed.xml", OutboundPolicy.from_setting("127.0.0.1/32"))
    assert server.requests == []


# -- through the services: polling, the dashboard's test fetch, images for social posts ---------


def strict(settings):
    return settings.model_copy(update={"allowed_private_networks": ""})


def test_a_refused_source_is_not_polled_again(sqlite_settings, server):
    settings = strict(sqlite_settings)
    source_id = ingest.get_or_add_source(settings, server.url("/feed.xml"), "feed")
    assert source_id in ingest.due_source_ids(settings)

    report = ingest.poll_source(settings, source_id)

    assert report.status == "failed" and "is not a public address" in report.error
    assert server.requests == []
    with session_scope(settings.effective_database_url) as session:
        source = session.get(Source, source_id)
        assert source.next_poll_at is None and "PRESSBOT_ALLOWED_PRIVATE_NETWORKS" in source.last_error
    assert source_id not in ingest.due_source_ids(settings)

    # Once the operator allows the network, ingesting it again resumes polling.
    again = ingest.ingest_targets(sqlite_settings, [server.url("/feed.xml")])
    assert again.sources[0].status == "ok" and len(again.sources[0].added) == 1
    with session_scope(settings.effective_database_url) as session:
        assert session.get(Source, source_id).next_poll_at is not None


def test_test_fetch_refuses_loopback_and_says_the_same_for_a_closed_port(sqlite_settings, server):
    settings = strict(sqlite_settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/feed.xml"
        errors = []
        for url in (server.url("/feed.xml"), closed):
            trial = ingest.trial_fetch(settings, ingest.add_source(settings, url))
            assert trial.status == "failed" and trial.found == 0
            errors.append(trial.error.replace(url, "URL"))
    assert errors[0] == errors[1]
    assert server.requests == []


def test_article_images_for_social_posts_go_through_the_policy(server, other_host):
    server.routes["/lead.png"] = Route(b"\x89PNG\r\n\x1a\n", content_type="image/png")
    with pytest.raises(OutboundRefused):
        download_image(server.url("/lead.png"), max_bytes=1000, timeout=5, policy=STRICT)
    assert server.requests == []
    # A redirect from an allowed host to a private one is refused too.
    server.routes["/moved.png"] = Route(status=302, headers={"Location": other_host.url("/secret")})
    with pytest.raises(OutboundRefused):
        download_image(server.url("/moved.png"), max_bytes=1000, timeout=5,
                       policy=OutboundPolicy.from_setting("127.0.0.1/32"))
    assert other_host.requests == []
    assert download_image(server.url("/lead.png"), max_bytes=1000, timeout=5,
                          policy=LOCAL_POLICY) == (b"\x89PNG\r\n\x1a\n", "image/png")


# -- TLS: the socket goes to the checked address, the certificate is checked for the name ------


def _certificate_for(name: str, folder):
    """A self-signed certificate for `name` (a DNS name, not an address): the server's SSL
    context and the PEM file the client trusts."""
    import ssl
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    context, cert_file = _certificate_for("feeds.tls.test", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))   # the client trusts this one CA
    server = LocalServer()
    server.routes["/feed.xml"] = Route(FEED)
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
    server.start()
    real = socket.getaddrinfo

    def local_names(host, port, *args, **kwargs):   # no DNS server here: the names are ours
        if host.endswith(".tls.test"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_names)
    yield server
    server.stop()


def test_https_reaches_the_checked_address_and_verifies_the_name(tls_server):
    allowed = OutboundPolicy.from_setting("127.0.0.1/32")
    got = get(f"https://feeds.tls.test:{tls_server.port}/feed.xml", allowed)
    assert got.content == FEED
    assert tls_server.requests[-1].headers["host"] == f"feeds.tls.test:{tls_server.port}"
    # Another name on the same address does not match the certificate: refused by TLS,
    # which shows the certificate is checked for the name, not for the pinned address.
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        get(f"https://other.tls.test:{tls_server.port}/feed.xml", allowed)


def test_a_feed_named_by_autodiscovery_in_the_private_network_is_refused(sqlite_settings, server,
                                                                          other_host):
    """A page on an allowed host names its feed on another, private, one."""
    server.routes["/"] = Route(
        f'<html><head><link rel="alternate" type="application/rss+xml" '
        f'href="{other_host.url("/secret")}"></head><body>News</body></html>'.encode(),
        content_type="text/html")
    settings = sqlite_settings.model_copy(update={"allowed_private_networks": "127.0.0.1/32"})
    [report] = ingest.ingest_targets(settings, [server.url("/")]).sources
    assert report.status == "failed" and "127.0.0.2 is not a public address" in report.error
    assert other_host.requests == []
