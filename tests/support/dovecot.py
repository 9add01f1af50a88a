"""A real Dovecot (Debian's dovecot-imapd and dovecot-pop3d) started by a test: a minimal
config in a temporary folder (passwd-file auth, a maildir there, IMAP and POP3 on free
loopback ports, no TLS), run in the foreground as `dovecot -F -c conf`, stopped after.
No system service is touched. `.ci/run` installs the packages."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.smtpserver import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "bounce-secret"

_CONFIG = """\
base_dir = {root}/run
instance_name = pressbot-test-{imap_port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
protocols = imap pop3
listen = 127.0.0.1
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT)


class Dovecot:
    def __init__(self) -> None:
        # Not pytest's tmp_path: its parents are private to root, and Dovecot reads the
        # maildir as the mail user (never root: Dovecot refuses uid 0).
        self.root = Path(tempfile.mkdtemp(prefix="pressbot-dovecot-"))
        self.root.chmod(0o711)
        self.imap_port, self.pop3_port = free_port(), free_port()
        user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        home = self.root / "mail" / USER
        home.mkdir(parents=True)
        os.chown(home.parent, user.pw_uid, user.pw_gid)
        os.chown(home, user.pw_uid, user.pw_gid)
        (self.root / "run").mkdir()
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{user.pw_uid}:{user.pw_gid}::{home}\n")
        self.config = self.root / "dovecot.conf"
        self.config.write_text(_CONFIG.format(root=self.root, imap_port=self.imap_port,
                                              pop3_port=self.pop3_port))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        for port in (self.imap_port, self.pop3_port):
            while not _accepts(port):   # readiness, not timing: the listener is up or not
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not start: {self.log()[-2000:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, scheme: str = "imap", folder: str = "") -> str:
        port = self.imap_port if scheme == "imap" else self.pop3_port
        return f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{port}/{folder}"

    # -- what a test does to the mailbox, through IMAP like any mail client -------------

    def _imap(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        conn = self._imap()
        try:
            conn.create(folder) if folder != "INBOX" else None
            typ, data = conn.append(folder, None, None, raw.replace(b"\r\n", b"\n")
                                    .replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            conn.logout()

    def count(self, folder: str = "INBOX") -> int:
        conn = self._imap()
        try:
            typ, data = conn.select(folder, readonly=True)
            if typ != "OK":
                return 0
            typ, data = conn.search(None, "UNDELETED")
            return len(data[0].split())
        finally:
            conn.logout()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
