#!/usr/bin/env python3
"""Peer "python": the original design's technology, for reference.

A ThreadingHTTPServer (one thread per connection, as the original chat server ran) with the
routes the polling and send scenarios use: POST /api/login, GET /api/messages?last=C and
POST /api/messages, same shapes as Parley's API. HTTP/1.1 keep-alive is on, so it is measured
on the same terms as the Node peers, not on the cost of reconnecting. Left as the standard
library writes it: the head and the body go out in two writes, so Nagle's algorithm and the
client's delayed ACK hold each keep-alive answer ~40 ms; that, not Python's speed, is most of
why the original design measured ~1.4k requests/s.

    python3 bench/peers/python_threading.py [--host 127.0.0.1] [--http-port 0]

Prints `PEER_READY {"httpPort": N}` once listening.
"""
import argparse
import json
import secrets
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_LENGTH = 4000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
COOKIE_NAME = "session"

messages = []  # messages[i]["id"] == i + 1: no deletions, so an id is also the cursor
sessions = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # one line per request would dominate the timing
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.reply(413, {"error": "the body is over 64 KiB"})
            self.close_connection = True
            return None
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            self.reply(400, {"error": "the body is not valid JSON"})
            return None
        if not isinstance(body, dict):
            self.reply(400, {"error": "the body must be a JSON object"})
            return None
        return body

    def session(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                return sessions.get(value)
        return None

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/api/login":
            body = self.read_json()
            if body is None:
                return
            username = body.get("username")
            if not isinstance(username, str) or not 1 <= len(username.strip()) <= 32:
                return self.reply(400, {"error": "username must be 1 to 32 characters"})
            token = secrets.token_urlsafe(18)
            with lock:
                sessions[token] = username.strip()
            cookie = f"{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/"
            return self.reply(200, {"username": username.strip()}, [("Set-Cookie", cookie)])
        if path != "/api/messages":
            return self.reply(404, {"error": "no such route"})
        user = self.session()
        if user is None:
            return self.reply(401, {"error": "log in first"})
        body = self.read_json()
        if body is None:
            return
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH:
            return self.reply(400, {"error": f"text must be 1 to {MAX_TEXT_LENGTH} characters"})
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with lock:
            message = {"id": len(messages) + 1, "user": user, "text": text, "time": now}
            messages.append(message)
        self.reply(201, message)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/api/messages":
            return self.reply(404, {"error": "no such route"})
        if self.session() is None:
            return self.reply(401, {"error": "log in first"})
        query = parse_qs(url.query)
        try:
            limit = int(query.get("limit", [DEFAULT_PAGE_SIZE])[0])
            last = query.get("last")
            with lock:
                start = int(last[0]) if last else max(0, len(messages) - limit)
                page = messages[start : start + limit]
                total = len(messages)
        except ValueError:
            return self.reply(400, {"error": "last and limit must be whole numbers"})
        if start < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
            return self.reply(400, {"error": "last must be 0 or more, limit 1 to 1000"})
        cursor = page[-1]["id"] if page else min(start, total)
        self.reply(200, {"messages": page, "deleted": [], "last": cursor})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops the SYNs of 64 clients connecting at once


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=0)
    args = parser.parse_args()
    server = Server((args.host, args.http_port), Handler)
    print("PEER_READY " + json.dumps({"httpPort": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
