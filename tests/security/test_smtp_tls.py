"""The SMTP password never crosses a connection without TLS unless the URL says so
(`smtp+insecure://`); STARTTLS and implicit TLS (smtps://) verify the server, against a
CA file of the newsroom's own when PRESSBOT_SMTP_CA_FILE names one. Against a real
aiosmtpd server with a certificate made in the test."""

from __future__ import annotations

import pytest
from aiosmtpd.smtp import AuthResult

from bot.config import Settings
from bot.errors import BadInput
from bot.mail.transport import SmtpTransport, TransportRefused, TransportUnavailable, build_transport
from tests.support.smtpserver import SmtpServer
from tests.support.tls import self_signed

MESSAGE = b"Message-ID: <1@example.org>\r\nSubject: hi\r\n\r\nhi\r\n"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Logins:
    """An authenticator that records every login attempt the server received."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.seen.append(auth_data.password)
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"news", b"s3cret"),
                          handled=False)


def plain_server(logins: Logins) -> SmtpServer:
    # No STARTTLS offered, and AUTH allowed without it: a server (or a man in the middle
    # that strips STARTTLS) that would take the password in clear text.
    return SmtpServer(authenticator=logins, auth_required=True, auth_require_tls=False,
                      auth_exclude_mechanism=["LOGIN"])


def with_login(url: str, scheme: str | None = None) -> str:
    old_scheme, rest = url.split("://")
    return f"{scheme or old_scheme}://news:s3cret@{rest}"


def test_no_password_over_a_connection_without_tls(tmp_path):
    logins = Logins()
    with plain_server(logins) as server:
        with pytest.raises(TransportRefused, match="offers no STARTTLS.*smtp\\+insecure"):
            with SmtpTransport(with_login(server.url), timeout=10) as transport:
                transport.send("news@example.org", "a@example.net", MESSAGE)
        assert logins.seen == [] and server.messages == []


def test_smtp_insecure_url_allows_it_explicitly(tmp_path):
    logins = Logins()
    with plain_server(logins) as server:
        with SmtpTransport(with_login(server.url, "smtp+insecure"), timeout=10) as transport:
            assert transport.send("news@example.org", "a@example.net", MESSAGE).startswith("250")
        assert logins.seen == [b"s3cret"] and len(server.messages) == 1


def test_starttls_then_login_verified_against_the_configured_ca_file(tmp_path):
    server_tls, cert_file = self_signed(tmp_path)
    logins = Logins()
    with SmtpServer(authenticator=logins, auth_required=True, tls_context=server_tls,
                    require_starttls=True, auth_exclude_mechanism=["LOGIN"]) as server:
        settings = Settings(home=tmp_path / "home", smtp_url=with_login(server.url), smtp_ca_file=cert_file)
        with build_transport(settings) as transport:
            assert transport.send("news@example.org", "a@example.net", MESSAGE).startswith("250")
        assert logins.seen == [b"s3cret"] and len(server.messages) == 1
        # Without the CA file the self-signed server is not trusted: nothing is sent.
        untrusted = Settings(home=tmp_path / "home", smtp_url=with_login(server.url))
        with pytest.raises(TransportUnavailable, match="certificate"):
            with build_transport(untrusted) as transport:
                transport.send("news@example.org", "b@example.net", MESSAGE)
        assert logins.seen == [b"s3cret"]


def test_implicit_tls_smtps(tmp_path):
    server_tls, cert_file = self_signed(tmp_path)
    logins = Logins()
    with SmtpServer(authenticator=logins, auth_required=True, ssl_context=server_tls,
                    auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]) as server:
        assert server.url.startswith("smtps://")
        settings = Settings(home=tmp_path / "home", smtp_url=with_login(server.url), smtp_ca_file=cert_file)
        with build_transport(settings) as transport:
            assert transport.send("news@example.org", "a@example.net", MESSAGE).startswith("250")
        assert logins.seen == [b"s3cret"]


def test_port_465_means_implicit_tls_and_urls_are_checked(tmp_path):
    assert SmtpTransport("smtp://mail.example.org:465").implicit_tls
    assert not SmtpTransport("smtp://mail.example.org:587").implicit_tls
    with pytest.raises(BadInput, match="smtp\\+insecure"):
        SmtpTransport("http://mail.example.org")
    missing = Settings(home=tmp_path, smtp_url="smtp://mail.example.org", smtp_ca_file=tmp_path / "none.pem")
    with pytest.raises(BadInput, match="PRESSBOT_SMTP_CA_FILE"):
        build_transport(missing)
