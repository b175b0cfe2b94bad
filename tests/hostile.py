"""A loopback HTTP server of hostile and broken responses, for the crawler to survive. It stops when its
``with`` block ends, and by itself after ``lifetime`` seconds whatever happens.

Each case is one path under ``/case/``; :data:`CASES` names them with the outcome a crawl must record:
a fetch failure reason (``crawlers.health``), ``no_text`` (fetched, nothing to index), ``capped`` (links,
entries or sitemaps beyond the crawl's bounds), or ``indexed`` (read correctly despite its oddity).

    with HostileServer() as bad:
        bad.url("/case/gzip-bomb")
"""

from __future__ import annotations

import gzip
import random
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = ("<html lang='vi'><head><meta charset='utf-8'><title>{title}</title></head><body><article><h1>{title}</h1>"
           + "<p>{para}</p>" * 6 + "</article></body></html>")
PARA = "Người dân phường Đại Phúc phản ánh tình trạng ngập úng kéo dài sau mỗi trận mưa lớn đầu mùa."

#: case -> (how the crawl meets it: "page" linked from the home page, "feed", "sitemap"; the outcomes that
#: count as handled: a fetch failure reason of ``crawlers.health``, ``no_text`` (fetched, nothing to index),
#: ``*_capped`` (links, entries or sitemaps beyond the crawl's bounds), ``indexed`` (read despite its oddity)).
CASES: dict[str, tuple[str, set[str]]] = {
    "gzip-bomb": ("page", {"too_large"}),
    "brotli-bomb": ("page", {"too_large"}),
    "deflate-bomb": ("page", {"too_large"}),
    "redirect-loop": ("page", {"redirect_refused"}),
    "redirect-circle-a": ("page", {"redirect_refused"}),
    "redirect-chain": ("page", {"redirect_refused"}),
    "huge-body": ("page", {"too_large"}),
    "longer-than-length": ("page", {"indexed"}),
    "shorter-than-length": ("page", {"connection_lost"}),
    "binary-as-html": ("page", {"no_text"}),
    "invalid-utf8": ("page", {"indexed"}),
    "mixed-encodings": ("page", {"indexed"}),
    "utf16-no-bom": ("page", {"indexed"}),
    "deep-nesting": ("page", {"indexed", "no_text"}),
    "slow-drip": ("page", {"timeout"}),
    "never-answers": ("page", {"timeout"}),
    "huge-headers": ("page", {"connection_lost", "other"}),
    "huge-line": ("page", {"indexed"}),
    "empty-200": ("page", {"no_text"}),
    "http-500": ("page", {"http_500"}),
    "http-429": ("page", {"http_429"}),
    "no-content-type": ("page", {"indexed"}),
    "garbage-status": ("page", {"connection_lost", "other"}),
    "closes-at-once": ("page", {"connection_lost"}),
    "redirect-ftp": ("page", {"bad_url", "http_302", "redirect_refused", "other"}),
    "javascript-page": ("page", {"no_text"}),
    "many-links": ("listing", {"links_capped"}),
    "feed-100k": ("feed", {"feed_entries_capped"}),
    "malformed-feed": ("feed", {"bad_feed", "empty_feed"}),
    "sitemap-bomb": ("sitemap", {"sitemap_entries_capped", "sitemaps_capped"}),
    "sitemap-gz-bomb": ("sitemap", {"too_large"}),
    "malformed-sitemap": ("sitemap", {"bad_sitemap", "empty_sitemap"}),
    "thread-loop": ("forum", {"indexed"}),
}
BOMB = 50_000_000  # bytes a bomb inflates to (the test's crawl.max_page_bytes is far below)


class HostileServer:
    def __init__(self, *, slow_seconds: float = 5.0, big_bytes: int = 2_000_000, lifetime: float = 600) -> None:
        self.slow_seconds = slow_seconds
        self.big_bytes = big_bytes
        self.requests: list[str] = []
        self._bombs: dict[str, bytes] = {}
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                owner.requests.append(self.path)
                path = self.path.split("?")[0]
                try:
                    owner._route(self, path)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client hanging up on a hostile answer is the point, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._watchdog = threading.Timer(lifetime, self.stop)
        self._watchdog.daemon = True
        self._stopped = False

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- responses -------------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str | None = "text/html; "
              "charset=utf-8", **headers: str) -> None:
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _article(self, title: str, para: str = PARA) -> bytes:
        return ARTICLE.format(title=title, para=para).encode("utf-8")

    def _route(self, h: BaseHTTPRequestHandler, path: str) -> None:  # noqa: PLR0911, PLR0912 - one case each
        case = path.removeprefix("/case/").removesuffix(".html").removesuffix(".xml")
        if path == "/robots.txt":
            return self._send(h, 200, b"<html><body>not a robots file</body></html>")  # robots.txt that is HTML
        if path in ("/", "/index.html"):
            links = "".join(f'<a href="/case/{name}.html">{name}</a> ' for name, (kind, _) in CASES.items()
                            if kind == "page")
            listing = "".join(f'<a href="/list/{name}.html">{name}</a> ' for name, (kind, _) in CASES.items()
                              if kind == "listing")
            normal = "".join(f'<a href="/case/normal-{i}.html">tin {i}</a> ' for i in range(3))
            return self._send(h, 200, f"<html><body>{links}{listing}{normal}</body></html>".encode())
        if path.startswith("/list/"):
            links = "".join(f'<a href="/case/x{i}.html">x</a>' for i in range(30_000))
            return self._send(h, 200, f"<html><body><h1>Nhiều liên kết</h1>{links}</body></html>".encode())
        if path.startswith("/forum/"):
            return self._forum(h, path)
        if case.startswith("normal-"):
            return self._send(h, 200, self._article(f"Tin bình thường {case}"))
        if path == "/slow":
            self._stop.wait(self.slow_seconds)
            return self._send(h, 200, b"<html><body><p>late</p></body></html>")
        if path == "/loop":
            return self._send(h, 302, b"", Location="/loop")
        if path == "/big":
            return self._send(h, 200, b"<html><body>" + b"<p>x</p>" * (self.big_bytes // 8) + b"</body></html>")
        if path == "/drip":
            return self._drip(h)
        return self._case(h, case)

    def _bomb(self, kind: str) -> bytes:
        if kind not in self._bombs:
            zeros = b"\0" * BOMB
            if kind == "gzip":
                self._bombs[kind] = gzip.compress(zeros, 6)
            elif kind == "br":
                import brotli

                self._bombs[kind] = brotli.compress(zeros, quality=1)
            elif kind == "deflate":
                self._bombs[kind] = zlib.compress(zeros, 6)
            else:
                self._bombs[kind] = gzip.compress(b'<?xml version="1.0"?><urlset>' + b" " * BOMB + b"</urlset>", 6)
        return self._bombs[kind]

    def _forum(self, h: BaseHTTPRequestHandler, path: str) -> None:
        """A XenForo-like forum whose thread's second page says its next page is the first."""
        if path == "/forum/section.html":
            link = b'<a class="thread-title" href="/forum/t/vong.1/">Vong</a>'
            return self._send(h, 200, b"<html><body>" + link + b"</body></html>")
        page = 2 if path.endswith("page-2") else 1
        posts = "".join(
            f'<article class="message" id="post-{page}{i}" data-author="ban{i}">'
            f'<time datetime="2026-11-2{i}T08:00:00+07:00"></time><div class="message-body">'
            f"Bài {page}.{i}: nước ngập ở phường Đại Phúc, đi lại rất khó khăn vì "
            f"đường bị ngập sâu suốt cả buổi sáng hôm qua.</div></article>" for i in range(3))
        following = "/forum/t/vong.1/page-2" if page == 1 else "/forum/t/vong.1/"
        body = f'<html><body><h1>Vong lặp</h1>{posts}<a class="pageNav-next" href="{following}">next</a></body></html>'
        return self._send(h, 200, body.encode())

    def _case(self, h: BaseHTTPRequestHandler, case: str) -> None:  # noqa: PLR0911, PLR0912, PLR0915
        if case == "gzip-bomb":
            return self._send(h, 200, self._bomb("gzip"), Content_Encoding="gzip")
        if case == "brotli-bomb":
            return self._send(h, 200, self._bomb("br"), Content_Encoding="br")
        if case == "deflate-bomb":
            return self._send(h, 200, self._bomb("deflate"), Content_Encoding="deflate")
        if case == "redirect-loop":
            return self._send(h, 302, b"", Location="/case/redirect-loop.html")
        if case == "redirect-circle-a":
            return self._send(h, 302, b"", Location="/case/redirect-circle-b.html")
        if case == "redirect-circle-b":
            return self._send(h, 302, b"", Location="/case/redirect-circle-a.html")
        if case.startswith("redirect-chain"):
            step = int(case.removeprefix("redirect-chain") or 0)
            return self._send(h, 302, b"", Location=f"/case/redirect-chain{step + 1}.html")
        if case == "huge-body":
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(50 * 1024 * 1024))
            h.end_headers()
            chunk = b"<p>" + b"a" * 65530 + b"</p>"
            try:
                for _ in range(50 * 16):
                    h.wfile.write(chunk)
            except OSError:
                pass
            return None
        if case == "longer-than-length":  # the declared length ends the body; the rest is ignored
            body = self._article("Thân dài hơn khai báo")
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body + b"<p>" + b"x" * 5000 + b"</p>")
            h.close_connection = True
            return None
        if case == "shorter-than-length":
            body = self._article("Thân ngắn hơn khai báo")
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(body) + 10_000))
            h.end_headers()
            h.wfile.write(body)
            h.close_connection = True
            return None
        if case == "binary-as-html":
            return self._send(h, 200, random.Random(7).randbytes(200_000))
        if case == "invalid-utf8":
            return self._send(h, 200, self._article("Sai mã UTF-8").replace(b"</h1>", b"\xff\xfe\xc3(</h1>"))
        if case == "mixed-encodings":
            legacy = "<p>Ngập úng ở Gia Bình, đoạn này mã Windows-1258.</p>".encode("cp1258", "replace")
            return self._send(h, 200, self._article("Trộn bảng mã").replace(b"</article>", legacy + b"</article>"))
        if case == "utf16-no-bom":
            return self._send(h, 200, self._article("Trang UTF-16 không BOM").decode().encode("utf-16-le"),
                              content_type="text/html")
        if case == "deep-nesting":
            depth = 100_000
            body = "<div>" * depth + f"<p>{PARA}</p>" * 3 + "</div>" * depth
            return self._send(h, 200, f"<html><body><h1>Lồng sâu</h1>{body}</body></html>".encode())
        if case == "slow-drip":
            return self._drip(h)
        if case == "never-answers":
            self._stop.wait(120)
            return None
        if case == "huge-headers":
            h.send_response(200)
            h.send_header("X-Huge", "a" * 200_000)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        if case == "huge-line":
            line = "<p>" + ("ngập úng " * 400_000) + "</p>"
            return self._send(h, 200, f"<html><body><h1>Một dòng rất dài</h1>{line}</body></html>".encode())
        if case == "empty-200":
            return self._send(h, 200, b"")
        if case == "http-500":
            return self._send(h, 500, b"oops")
        if case == "http-429":
            return self._send(h, 429, b"slow down", Retry_After="1")
        if case == "no-content-type":
            return self._send(h, 200, self._article("Không có Content-Type"), content_type=None)
        if case == "garbage-status":
            h.wfile.write(b"HTTP/1.1 abc garbage\r\n\r\n")
            h.close_connection = True
            return None
        if case == "closes-at-once":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return None
        if case == "redirect-ftp":
            return self._send(h, 302, b"", Location="ftp://127.0.0.1/file.html")
        if case == "feed-100k":
            items = "".join(f"<item><title>t</title><link>{self.base_url}/case/f{i}.html</link></item>"
                            for i in range(100_000))
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
            return self._send(h, 200, body.encode(), content_type="application/rss+xml")
        if case == "malformed-feed":
            return self._send(h, 200, b"<rss><channel><item><title>x</ti", content_type="application/rss+xml")
        if case == "sitemap-bomb":
            entries = "".join(f"<sitemap><loc>{self.base_url}/case/sm{i}.xml</loc></sitemap>" for i in range(30_000))
            body = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}' \
                   "</sitemapindex>"
            return self._send(h, 200, body.encode(), content_type="application/xml")
        if case.startswith("sm"):
            return self._send(h, 200, b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              b"</urlset>", content_type="application/xml")
        if case == "sitemap-gz-bomb":
            return self._send(h, 200, self._bomb("sitemap"), content_type="application/x-gzip")
        if case == "malformed-sitemap":
            return self._send(h, 200, b"<urlset><url><loc>http://", content_type="application/xml")
        if case == "javascript-page":
            return self._send(h, 200, b"<html><head><script>document.write('x')</script></head><body></body></html>")
        return self._send(h, 404, b"not here")

    def _drip(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(1000):
            if self._stop.wait(0.5):
                return
            h.wfile.write(b"<p>drip</p>")
            h.wfile.flush()

    # -- life ---------------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        time.sleep(0.05)
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._watchdog.cancel()
        self.stop()
