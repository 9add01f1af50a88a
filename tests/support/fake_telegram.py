"""A stand-in Telegram Bot API on loopback: `/bot<token>/getMe` and `/sendMessage`.

It answers as the Bot API does: a malformed token is 404 "Not Found", an unknown one 401
"Unauthorized"; sendMessage parses HTML the way Telegram does (only its tags, only its named
entities) and applies the 4096-character limit to the text left after parsing, counted in
UTF-16 units, with Telegram's own error descriptions. Every request is recorded; `force()`
scripts the next answer to a method (429 with parameters.retry_after, a proxy's 502)."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "7012345678:AAHf3kz9Qx_b7LmN2pR4sT6vW8yZ0aBcDeF"
MAX_LENGTH = 4096
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
                "a", "tg-emoji", "code", "pre", "blockquote"}
_TOKEN_FORMAT = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?[^<>]*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#[xX][0-9A-Fa-f]+);")
BAD_GATEWAY = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
               b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
               b"</body>\r\n</html>\r\n")


@dataclass
class Call:
    method: str
    path: str
    body: dict


class BotApiError(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def parse_html(markup: str) -> str:
    """The text Telegram keeps of an HTML-mode message, or BotApiError as Telegram words it."""
    out, open_tags, pos = [], [], 0
    offset = lambda i: len(markup[:i].encode("utf-8"))  # noqa: E731  (Telegram counts bytes)
    while pos < len(markup):
        char = markup[pos]
        if char == "<":
            tag = _TAG.match(markup, pos)
            name = (tag.group(2) or "").lower() if tag else ""
            if tag is None or (not tag.group(1) and name not in ALLOWED_TAGS):
                raise BotApiError(400, "Bad Request: can't parse entities: Unsupported start tag "
                                       f'"{name}" at byte offset {offset(pos)}')
            if tag.group(1):
                if not open_tags:
                    raise BotApiError(400, "Bad Request: can't parse entities: Unexpected end "
                                           f'tag at byte offset {offset(pos)}')
                if open_tags[-1] != name:
                    raise BotApiError(400, "Bad Request: can't parse entities: Can't find end "
                                           f'tag corresponding to start tag "{open_tags[-1]}"')
                open_tags.pop()
            else:
                open_tags.append(name)
            pos = tag.end()
        elif char == "&":
            entity = _ENTITY.match(markup, pos)
            if entity is None:
                raise BotApiError(400, "Bad Request: can't parse entities: Can't find end of "
                                       f"the entity starting at byte offset {offset(pos)}")
            out.append(html.unescape(entity.group(0)))
            pos = entity.end()
        else:
            out.append(char)
            pos += 1
    if open_tags:
        raise BotApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                               f'corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


class FakeTelegram:
    def __init__(self, token: str = TOKEN, bot_username: str = "pressbot_test_bot") -> None:
        self.token, self.bot_username = token, bot_username
        # chat_id as the publisher is configured → the Chat object; "kicked" answers 403
        self.chats: dict[str, dict] = {
            "@newsroom": {"id": -1001234567890, "title": "Newsroom", "username": "newsroom",
                          "type": "channel"},
            "-1009876543210": {"id": -1009876543210, "title": "Editors", "type": "channel"},
            "@formerly": {"id": -1001111111111, "title": "Formerly ours", "type": "channel",
                          "username": "formerly", "kicked": True},
        }
        self.calls: list[Call] = []
        self.messages: list[dict] = []      # sendMessage bodies that were accepted
        self._forced: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, b"")

            def do_POST(self) -> None:
                fake._handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def force(self, method: str, status: int, body: dict | bytes,
              headers: dict[str, str] | None = None) -> None:
        """The next call to `method` gets this answer instead of the real one."""
        self._forced[method].append((status, body, headers or {}))

    def get_me(self, body: dict) -> dict:
        return {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Pressbot",
                "username": self.bot_username, "can_join_groups": True}

    def send_message(self, body: dict) -> dict:
        chat = self.chats.get(str(body.get("chat_id")))
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat.get("kicked"):
            raise BotApiError(403, "Forbidden: bot was kicked from the channel chat")
        text = body.get("text") or ""
        mode = (body.get("parse_mode") or "").lower()
        if mode not in ("", "html"):
            raise BotApiError(400, "Bad Request: unsupported parse_mode")
        visible = parse_html(text) if mode == "html" else text
        if not visible.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(visible.encode("utf-16-le")) // 2 > MAX_LENGTH:
            raise BotApiError(400, "Bad Request: message is too long")
        preview = body.get("link_preview_options")
        if preview is not None and not isinstance(preview, dict):
            raise BotApiError(400, "Bad Request: can't parse link preview options JSON object")
        self.messages.append(body)
        public = {k: v for k, v in chat.items() if k != "kicked"}
        message = {"message_id": len(self.messages), "sender_chat": public, "chat": public,
                   "date": int(time.time()), "text": visible}
        if preview is not None:
            message["link_preview_options"] = preview
        return message

    METHODS = {"getMe": get_me, "sendMessage": send_message}

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        token, _, method = handler.path.removeprefix("/bot").partition("/")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        headers: dict[str, str] = {}
        with self._lock:
            self.calls.append(Call(method, handler.path, body))
            forced = self._forced[method].popleft() if self._forced[method] else None
            try:
                if not handler.path.startswith("/bot") or not _TOKEN_FORMAT.fullmatch(token):
                    raise BotApiError(404, "Not Found")
                if token != self.token:
                    raise BotApiError(401, "Unauthorized")
                if forced:
                    status, payload, headers = forced
                elif method in self.METHODS:
                    status, payload = 200, {"ok": True, "result": self.METHODS[method](self, body)}
                else:
                    raise BotApiError(404, "Not Found")
            except BotApiError as exc:
                status = exc.code
                payload = {"ok": False, "error_code": exc.code, "description": exc.description}
        if isinstance(payload, dict):
            data, ctype = json.dumps(payload).encode(), "application/json"
        else:
            data, ctype = payload, "text/html"
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
