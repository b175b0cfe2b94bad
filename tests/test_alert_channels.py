"""Alert delivery channels against real servers on loopback, and the retry policy.

E-mail talks to a real aiosmtpd server (plain, STARTTLS with AUTH, implicit TLS, refusing recipients);
webhooks post to a real ``http.server`` receiver. No Elasticsearch is needed.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import random
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alerts import channels
from alerts.channels import ChannelError, EmailChannel, WebhookChannel
from alerts.channels.email import subject
from alerts.channels.webhook import TEMPLATES, verify_signature
from alerts.message import AlertItem, AlertMessage, SpikeExplanation
from alerts.retry import backoff_ceiling, next_attempt_at, next_delay, should_retry
from mediawatch.config import Settings
from tests.conftest import free_port

SECRET = "s3cr3t-per-subscription"


def item(n: int = 1, **extra: Any) -> AlertItem:
    values: dict[str, Any] = dict(
        doc_id=f"doc-{n}",
        url=f"https://baobacninh.vn/thoi-su/ngap-lut-tu-son-{n}.html",
        title=f"Ngập lụt ở Từ Sơn: nhiều tuyến phố chìm trong nước ({n})",
        source="bacninh-news",
        source_name="Báo Bắc Ninh",
        snippet="Mưa lớn khiến nhiều tuyến phố ở <mark>Từ Sơn</mark> bị <mark>ngập</mark> sâu, giao thông ùn tắc",
        published=datetime(2026, 11, 1, 23, 30, tzinfo=UTC),  # 06:30 on 2 November in Vietnam
        sentiment="negative",
        copies=("https://vnexpress.net/a.html", "https://dantri.com.vn/b.html"),
    )
    values.update(extra)
    return AlertItem(**values)


def message(notification_id: str = "n-0001", kind: str = "instant", items: list[AlertItem] | None = None,
            **extra: Any) -> AlertMessage:
    values: dict[str, Any] = dict(
        notification_id=notification_id, kind=kind, subscription_id="sub-1", subscription_name="Ngập lụt Từ Sơn",
        query='"ngập lụt" AND "Từ Sơn"', items=[item()] if items is None else items,
        created=datetime(2026, 11, 2, 0, 0, tzinfo=UTC),
        links={"search": "https://mw.example.vn/search?q=ngap", "unsubscribe": "https://mw.example.vn/a/sub-1/off"},
    )
    values.update(extra)
    return AlertMessage(**values)


# --------------------------------------------------------------------------------------------- SMTP server


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it receives; refuses ``refused@…`` (550) and ``later@…`` (450)."""

    received: list[Any] = field(default_factory=list)
    authenticated: list[bool | None] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address.startswith("refused@"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("later@"):
            return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(envelope)
        self.authenticated.append(session.authenticated)
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.received[index].original_content, policy=email.policy.default)


@dataclass
class Tls:
    ca: Path  # the CA bundle a client must trust
    server_context: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A private CA and a server certificate for localhost / 127.0.0.1, made here."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(name("mediawatch test CA")).issuer_name(name("mediawatch test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return Tls(ca=ca_path, server_context=context)


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mw", b"m\xe1\xba\xadt")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    """A plain SMTP server on loopback."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    controller.stop()


@pytest.fixture
def smtp_tls(tls: Tls) -> Iterator[tuple[Controller, Mailbox]]:
    """STARTTLS required before anything, AUTH required (and only offered over TLS)."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=tls.server_context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticator)
    controller.start()
    yield controller, box
    controller.stop()


def email_settings(port: int, **alerts: Any) -> Settings:
    return Settings(alerts={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5,
                            "mail_from": "mediawatch <canhbao@mediawatch.example.vn>", **alerts})


def mail_channel(port: int, to: str = "an@example.vn", **alerts: Any) -> EmailChannel:
    channel = channels.build({"type": "email", "to": to}, email_settings(port, **alerts))
    assert isinstance(channel, EmailChannel)
    return channel


def test_email_arrives_with_text_and_html_parts_in_vietnamese(smtp):
    controller, box = smtp
    mail_channel(controller.port).send(message())

    assert box.received[0].rcpt_tos == ["an@example.vn"]
    assert box.received[0].mail_from == "canhbao@mediawatch.example.vn"
    mail = box.parsed()
    assert mail["Subject"] == ('[mediawatch] Cảnh báo "Ngập lụt Từ Sơn": '
                               'Ngập lụt ở Từ Sơn: nhiều tuyến phố chìm trong nước (1)')
    assert mail["To"] == "an@example.vn"
    assert mail["X-Mediawatch-Notification-Id"] == "n-0001"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] == "<https://mw.example.vn/a/sub-1/off>"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in mail.iter_parts())

    text = mail.get_body(("plain",)).get_content()
    assert "Mưa lớn khiến nhiều tuyến phố ở «Từ Sơn» bị «ngập» sâu" in text
    assert "Đọc bài gốc: https://baobacninh.vn/thoi-su/ngap-lut-tu-son-1.html" in text
    assert "Báo Bắc Ninh · 06:30 02/11/2026" in text  # local time in Asia/Ho_Chi_Minh
    assert "+2 nguồn khác" in text
    assert "Xem tất cả trong mediawatch: https://mw.example.vn/search?q=ngap" in text
    assert "<mark>" not in text

    page = mail.get_body(("html",)).get_content()
    assert '<html lang="vi">' in page
    assert "<mark>Từ Sơn</mark>" in page and "<mark>ngập</mark>" in page
    assert '<a href="https://baobacninh.vn/thoi-su/ngap-lut-tu-son-1.html"' in page
    assert ">Đọc bài gốc</a>" in page
    assert '<a href="https://vnexpress.net/a.html"' in page  # the copies, named by host
    assert ">vnexpress.net</a>" in page


def test_message_id_is_stable_across_resends_of_one_notification(smtp):
    controller, box = smtp
    channel = mail_channel(controller.port)
    channel.send(message("n-0001"))
    channel.send(message("n-0001"))
    channel.send(message("n-0002"))
    ids = [box.parsed(i)["Message-ID"] for i in range(3)]
    assert ids[0] == ids[1] == "<n-0001@mediawatch.example.vn>"
    assert ids[2] != ids[0]
    # An id that is not a safe dot-atom is hashed, still stably.
    odd = channel.compose(message("sub-1:doc 7/ä"))["Message-ID"]
    assert odd == channel.compose(message("sub-1:doc 7/ä"))["Message-ID"]
    assert odd.startswith("<mw-") and odd.endswith("@mediawatch.example.vn>")


def test_html_escapes_everything_but_the_snippet_marks():
    hostile = item(title='Tin <script>alert("x")</script> & "trích dẫn"',
                   snippet='&lt;b&gt;đậm&lt;/b&gt; <img src=x onerror=alert(1)> <mark>ngập</mark>',
                   source_name="<i>Báo</i>")
    mail = mail_channel(25).compose(message(items=[hostile]))
    page = mail.get_body(("html",)).get_content()
    assert "<script" not in page and "<img" not in page and "<i>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;đậm" in page
    assert "<mark>ngập</mark>" in page
    text = mail.get_body(("plain",)).get_content()
    assert "<b>đậm</b>" in text and "«ngập»" in text  # the text part shows the text as written


def test_subjects_for_digests_spikes_and_tests():
    period = (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    daily = message(kind="digest", items=[item(1), item(2)], total=37, period=period)
    hourly = message(kind="digest", items=[item(1)], total=1, period=(period[1] - timedelta(hours=1), period[1]))
    spike = message(kind="spike", items=[item(1)], spike=SpikeExplanation(
        today=42, baseline=6.5, window_days=28, factor=6.46, sources=[("Báo Bắc Ninh", 12)],
        stories=[("Ngập lụt ở Từ Sơn", 7)], terms=["ngập", "bơm tiêu"]))
    several = message(items=[item(1), item(2), item(3)])
    assert subject(daily) == '[mediawatch] Bản tin hằng ngày "Ngập lụt Từ Sơn": 37 bài'
    assert subject(hourly) == '[mediawatch] Bản tin hằng giờ "Ngập lụt Từ Sơn": 1 bài'
    assert subject(spike) == '[mediawatch] Tăng đột biến "Ngập lụt Từ Sơn": 42 bài hôm nay, gấp 6,5 lần bình thường'
    assert subject(several) == '[mediawatch] Cảnh báo "Ngập lụt Từ Sơn": 3 bài mới'
    assert subject(message(kind="test", items=[])).startswith("[mediawatch] Thử kênh gửi")

    channel = mail_channel(25)
    text = channel.compose(daily).get_body(("plain",)).get_content()
    assert "37 bài khớp với cảnh báo từ 07:00 01/11/2026 đến 07:00 02/11/2026 (GMT+7)." in text
    assert "Dưới đây là 2 bài trong số đó." in text
    page = channel.compose(spike).get_body(("html",)).get_content()
    assert "gấp 6,5 lần mức thường ngày" in page and "Báo Bắc Ninh (12)" in page and "bơm tiêu" in page


def test_starttls_and_login_against_a_server_that_requires_both(smtp_tls, tls, monkeypatch):
    controller, box = smtp_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))  # trust the test CA; the certificate is really verified
    login = {"smtp_username": "mw", "smtp_password": "mật"}

    mail_channel(controller.port, smtp_starttls=True, **login).send(message())
    assert len(box.received) == 1 and box.authenticated == [True]
    assert box.parsed()["Subject"].startswith('[mediawatch] Cảnh báo "Ngập lụt Từ Sơn"')

    # Over plain text the server offers no AUTH: a configuration mistake, not worth retrying.
    with pytest.raises(ChannelError, match="does not offer") as plain_login:
        mail_channel(controller.port, **login).send(message())
    assert not plain_login.value.retryable
    # Without STARTTLS and login, the server refuses the mail itself (530).
    with pytest.raises(ChannelError, match="530") as plain:
        mail_channel(controller.port).send(message())
    assert not plain.value.retryable
    # A wrong password over TLS: 535, not retryable.
    with pytest.raises(ChannelError, match="login .* failed .*535") as wrong:
        mail_channel(controller.port, smtp_starttls=True, smtp_username="mw", smtp_password="sai").send(message())
    assert not wrong.value.retryable
    assert len(box.received) == 1


def test_starttls_refuses_a_certificate_it_does_not_trust(smtp_tls, tmp_path, monkeypatch):
    controller, box = smtp_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ChannelError, match="certificate not trusted") as caught:
        mail_channel(controller.port, smtp_starttls=True, smtp_username="mw", smtp_password="mật").send(message())
    assert not caught.value.retryable and box.received == []


def test_implicit_tls(tls, monkeypatch):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ssl_context=tls.server_context)
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
        mail_channel(controller.port, smtp_ssl=True).send(message())
    finally:
        controller.stop()
    assert box.parsed()["X-Mediawatch-Notification-Id"] == "n-0001"


def test_smtp_down_or_silent_is_retryable():
    with pytest.raises(ChannelError, match="refused the connection") as down:
        mail_channel(free_port()).send(message())
    assert down.value.retryable

    with socket.socket() as silent:  # accepts connections (the kernel does) but never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        with pytest.raises(ChannelError, match="did not answer in time") as slow:
            mail_channel(silent.getsockname()[1], smtp_timeout=0.5).send(message())
    assert slow.value.retryable


def test_recipient_refused_550_is_final_450_is_retryable(smtp):
    controller, box = smtp
    with pytest.raises(ChannelError, match="refused the recipient .*550 5.1.1 mailbox unavailable") as refused:
        mail_channel(controller.port, "refused@example.vn").send(message())
    assert not refused.value.retryable
    with pytest.raises(ChannelError, match="450") as later:
        mail_channel(controller.port, "later@example.vn").send(message())
    assert later.value.retryable
    assert box.received == []


@pytest.mark.parametrize(("to", "reason"), [
    ("not-an-address", "needs exactly one '@'"),
    ("a@@example.vn", "needs exactly one '@'"),
    ("@example.vn", "nothing before the '@'"),
    ("an@", "nothing after the '@'"),
    ("an nguyen@example.vn", "characters or dots"),
    ("an..nguyen@example.vn", "characters or dots"),
    ("an@example..vn", "not a valid domain"),
    ("an@-example.vn", "not a valid domain"),
    ("an@example.vn\nBcc: x@evil.example", "line break"),
    ("", "missing"),
    (["a@example.vn", "b@example.vn"], "one address"),
])
def test_malformed_addresses_are_refused_in_one_line(to, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        channels.validate({"type": "email", "to": to})
    assert "\n" not in str(caught.value)


def test_addresses_are_normalised():
    assert channels.validate({"type": "email", "to": " An@Example.VN "})["to"] == "An@example.vn"
    assert channels.validate({"type": "email", "to": "Nguyễn An <an@example.vn>"})["to"] == "Nguyễn An <an@example.vn>"
    assert channels.validate({"type": "email", "to": "an@bắcninh.vn"})["to"] == "an@xn--bcninh-pf8b.vn"
    again = channels.validate({"type": "email", "to": '"Nguyễn, An" <an@example.vn>'})
    assert channels.validate(again) == again  # stored values validate again unchanged


# --------------------------------------------------------------------------------------------- HTTP receiver


class Receiver(BaseHTTPRequestHandler):
    """Answers by path: /ok 200, /fail 500, /missing 404, /busy 429, /moved 307 to /ok (same host),
    /away 307 to the same port on "localhost" (another host)."""

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        port = self.server.server_address[1]
        answers = {"/ok": (200, {}), "/fail": (500, {}), "/missing": (404, {}), "/busy": (429, {}),
                   "/moved": (307, {"Location": "/ok"}), "/away": (307, {"Location": f"http://localhost:{port}/ok"})}
        code, headers = answers.get(self.path, (404, {}))
        payload = b"ok" if code == 200 else b"went wrong here"
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hook(server: ThreadingHTTPServer, path: str, template: str = "json", timeout: float = 5) -> WebhookChannel:
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    channel = channels.build({"type": "webhook", "url": url, "template": template, "secret": SECRET},
                             Settings(alerts={"webhook_timeout": timeout}))
    assert isinstance(channel, WebhookChannel)
    return channel


def test_webhook_json_is_signed_and_verifies(receiver):
    sent = message()
    hook(receiver, "/ok").send(sent)
    [(path, headers, body)] = receiver.requests
    assert path == "/ok"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Mediawatch-Notification-Id"] == "n-0001"
    assert json.loads(body) == sent.to_json()
    assert "Ngập lụt Từ Sơn".encode() in body  # UTF-8, not \u escapes
    stamp, signature = headers["X-Mediawatch-Timestamp"], headers["X-Mediawatch-Signature"]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64

    assert verify_signature(SECRET, stamp, body, signature)
    assert not verify_signature(SECRET, stamp, body.replace(b"n-0001", b"n-0002"), signature)  # tampered
    assert not verify_signature("another-secret", stamp, body, signature)
    assert not verify_signature(SECRET, int(stamp) - 1, body, signature)  # the timestamp is signed too
    assert not verify_signature(SECRET, stamp, body, signature, now=int(stamp) + 301)  # replayed later
    assert not verify_signature(SECRET, stamp, body, signature, now=int(stamp) - 301)  # from the future
    assert verify_signature(SECRET, stamp, body, signature, now=int(stamp) + 299)
    assert not verify_signature(SECRET, "yesterday", body, signature)
    assert not verify_signature(SECRET, stamp, body, "sha256=" + "0" * 64)
    assert not verify_signature(SECRET, stamp, body, "Không phải chữ ký")


@pytest.mark.parametrize(("path", "retryable", "reason"), [
    ("/fail", True, "HTTP 500"),
    ("/busy", True, "HTTP 429"),
    ("/missing", False, "HTTP 404"),
])
def test_webhook_http_failures(receiver, path, retryable, reason):
    with pytest.raises(ChannelError, match=reason) as caught:
        hook(receiver, path).send(message())
    assert caught.value.retryable is retryable
    assert "went wrong here" in str(caught.value)  # the receiver's own words, for whoever reads the log


def test_webhook_receiver_that_never_answers_times_out_retryably():
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        channel = channels.build({"type": "webhook", "url": f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
                                  "secret": SECRET}, Settings(alerts={"webhook_timeout": 0.5}))
        with pytest.raises(ChannelError, match="did not answer within 0.5 s") as caught:
            channel.send(message())
    assert caught.value.retryable


def test_webhook_receiver_down_is_retryable():
    channel = channels.build({"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/hook", "secret": SECRET},
                             Settings())
    with pytest.raises(ChannelError, match="refused the connection") as caught:
        channel.send(message())
    assert caught.value.retryable


def test_webhook_redirects_only_within_the_host(receiver):
    hook(receiver, "/moved").send(message())
    (first, _, body), (second, headers, again) = receiver.requests
    assert (first, second) == ("/moved", "/ok") and again == body  # the same signed POST, body and all
    assert verify_signature(SECRET, headers["X-Mediawatch-Timestamp"], again, headers["X-Mediawatch-Signature"])

    receiver.requests.clear()
    with pytest.raises(ChannelError, match="not followed to another host") as caught:
        hook(receiver, "/away").send(message())
    assert not caught.value.retryable
    assert [path for path, _, _ in receiver.requests] == ["/away"]


def test_json_webhook_without_a_secret_sends_nothing(receiver):
    url = f"http://127.0.0.1:{receiver.server_address[1]}/ok"
    channel = channels.build({"type": "webhook", "url": url}, Settings())
    with pytest.raises(ChannelError, match="no signing secret") as caught:
        channel.send(message())
    assert not caught.value.retryable and receiver.requests == []


def test_chat_templates_have_each_tools_shape(receiver):
    sent = message(items=[item(1), item(2, kind="forum", title="Hỏi *gấp* về [ngập]", copies=())])

    slack = TEMPLATES["slack"](sent)
    assert slack["text"].startswith('*Cảnh báo "Ngập lụt Từ Sơn"*')
    assert "<https://baobacninh.vn/thoi-su/ngap-lut-tu-son-1.html|Ngập lụt ở Từ Sơn" in slack["text"]
    assert "*Từ Sơn* bị *ngập* sâu" in slack["text"] and "<mark>" not in slack["text"]
    assert "<https://mw.example.vn/search?q=ngap|Xem tất cả trong mediawatch>" in slack["text"]

    discord = TEMPLATES["discord"](sent)
    assert set(discord) == {"content", "allowed_mentions", "flags"} and discord["allowed_mentions"] == {"parse": []}
    assert "[Ngập lụt ở Từ Sơn: nhiều tuyến phố chìm trong nước \\(1\\)](https://baobacninh.vn/" in discord["content"]
    assert "**Từ Sơn** bị **ngập**" in discord["content"]
    assert "[Hỏi \\*gấp\\* về \\[ngập\\]](" in discord["content"]  # Markdown in a title is escaped

    teams = TEMPLATES["teams"](sent)
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block["text"] for block in card["body"] if block["type"] == "TextBlock"]
    assert texts[0] == 'Cảnh báo "Ngập lụt Từ Sơn"'
    assert any(t.startswith("[Ngập lụt ở Từ Sơn") and "](https://baobacninh.vn/" in t for t in texts)
    assert any("**Từ Sơn** bị **ngập**" in t for t in texts)
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Xem tất cả trong mediawatch",
                                  "url": "https://mw.example.vn/search?q=ngap"}

    chat = TEMPLATES["google_chat"](sent)
    assert set(chat) == {"text"}
    assert "<https://baobacninh.vn/thoi-su/ngap-lut-tu-son-1.html|Ngập lụt" in chat["text"]
    assert "*Từ Sơn* bị *ngập*" in chat["text"]

    mattermost = TEMPLATES["mattermost"](sent)
    assert set(mattermost) == {"text"}
    assert "](https://baobacninh.vn/thoi-su/ngap-lut-tu-son-1.html)" in mattermost["text"]
    assert "**Từ Sơn** bị **ngập**" in mattermost["text"]

    # Sent for real: the chat body is signed like the JSON one.
    hook(receiver, "/ok", template="slack").send(sent)
    [(_, headers, body)] = receiver.requests
    assert json.loads(body) == slack
    assert verify_signature(SECRET, headers["X-Mediawatch-Timestamp"], body, headers["X-Mediawatch-Signature"])


def test_chat_messages_stay_within_the_tools_limits():
    crowded = message(kind="digest", items=[item(n) for n in range(60)], total=240,
                      period=(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)))
    content = TEMPLATES["discord"](crowded)["content"]
    assert len(content) <= 2000
    shown = content.count("• [")
    assert 0 < shown < 60 and f"… và {240 - shown} bài khác." in content  # what did not fit is counted
    assert content.endswith("(https://mw.example.vn/a/sub-1/off)")  # the links always fit
    assert len(TEMPLATES["slack"](crowded)["text"]) <= 3500
    card = TEMPLATES["teams"](crowded)["attachments"][0]["content"]
    assert sum(1 for b in card["body"] if b.get("separator")) == 20
    assert len(json.dumps(card, ensure_ascii=False).encode()) < 28_000  # Teams' message size limit


@pytest.mark.parametrize(("config", "reason"), [
    ({"url": "ftp://example.vn/hook"}, "must start with http:// or https://"),
    ({"url": "example.vn/hook"}, "must start with http:// or https://"),
    ({"url": "https:///hook"}, "has no host"),
    ({"url": "https://user:pw@example.vn/hook"}, "user name or password"),
    ({"url": "https://example.vn/a b"}, "spaces"),
    ({"url": "https://example.vn:99999/"}, "invalid port"),
    ({}, "missing"),
    ({"url": "https://example.vn/hook", "template": "telegram"}, "known: json, slack, discord, teams"),
])
def test_bad_webhook_configs_are_refused_in_one_line(config, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        channels.validate({"type": "webhook", **config})
    assert "\n" not in str(caught.value)


def test_registry_and_descriptions():
    assert set(channels.CHANNELS) == {"email", "webhook"}
    with pytest.raises(ValueError, match="unknown channel type 'sms'; known: email, webhook"):
        channels.validate({"type": "sms", "to": "0912345678"})
    with pytest.raises(ValueError, match="known: email, webhook"):
        channels.build({"to": "an@example.vn"}, Settings())
    assert channels.validate({"type": "webhook", "url": "https://example.vn/h"})["template"] == "json"
    slack = channels.build({"type": "webhook", "url": "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
                            "template": "slack", "secret": SECRET}, Settings())
    assert slack.describe() == "webhook https://hooks.slack.com/services/… (slack)"
    assert "SECRET" not in slack.describe()
    mail = channels.build({"type": "email", "to": "Tên <an@example.vn>"}, Settings())
    assert mail.describe() == "e-mail an@example.vn"


# --------------------------------------------------------------------------------------------- retry policy


def test_backoff_ceilings_double_up_to_the_maximum():
    assert [backoff_ceiling(n, base=30, maximum=3600) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_ceiling(10_000, base=30, maximum=3600) == 3600  # no overflow
    with pytest.raises(ValueError):
        backoff_ceiling(0, base=30, maximum=3600)


def test_delays_grow_stay_in_range_and_vary():
    rng = random.Random(7).random
    means = []
    for attempt in range(1, 10):
        delays = [next_delay(attempt, base=30, maximum=3600, rng=rng) for _ in range(400)]
        assert all(0 <= d <= min(3600, 30 * 2 ** (attempt - 1)) for d in delays)
        assert len(set(delays)) > 390  # jitter: retries that failed together do not come back together
        means.append(sum(delays) / len(delays))
    assert all(later > earlier * 1.5 for earlier, later in zip(means[:7], means[1:7], strict=False))
    assert 1500 < means[-1] < 2100  # capped: uniform over [0, 3600]
    assert next_delay(3, base=30, maximum=3600, rng=lambda: 0.0) == 0
    assert next_delay(3, base=30, maximum=3600, rng=lambda: 0.5) == 60


def test_attempts_stop_at_max_and_on_permanent_errors():
    temporary, permanent = ChannelError("SMTP down"), ChannelError("550 no such user", retryable=False)
    assert [should_retry(temporary, n, 4) for n in range(1, 6)] == [True, True, True, False, False]
    assert not should_retry(permanent, 1, 4)

    now = datetime(2026, 11, 2, tzinfo=UTC)
    plan = dict(now=now, base=30, maximum=3600, max_attempts=4, rng=lambda: 0.5)
    assert next_attempt_at(temporary, 1, **plan) == now + timedelta(seconds=15)
    assert next_attempt_at(temporary, 3, **plan) == now + timedelta(seconds=60)
    assert next_attempt_at(temporary, 4, **plan) is None
    assert next_attempt_at(permanent, 1, **plan) is None
