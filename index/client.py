"""One way to build an Elasticsearch client from settings, and one way to say the cluster is unreachable."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch, UnsupportedProductError

from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, ConfigError

#: How long a reachability check may take, whatever ``request_timeout`` says.
PING_TIMEOUT = 5.0


def split_urls(text: str) -> list[str]:
    """The URLs in a comma-separated ``es.url`` (one or several nodes of one cluster), each checked.

    ConfigError (one line) for an empty list, a URL that is not ``http(s)://host[:port]``, or a mix of
    http and https."""
    urls = [part.strip() for part in text.split(",") if part.strip()]
    if not urls:
        raise ConfigError(f"invalid Elasticsearch URL {text!r}: expected http(s)://host[:port]")
    for url in urls:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"invalid Elasticsearch URL {url!r}: expected http(s)://host[:port]")
    if len({urlsplit(url).scheme for url in urls}) > 1:
        raise ConfigError(f"the Elasticsearch URLs {text!r} mix http and https; use one scheme for every node")
    return urls


class ClusterClient(Elasticsearch):
    """A client over several nodes of one cluster. ``options(max_retries=0)`` ("do not keep a caller waiting
    on a failing cluster") still tries each node once when one refuses the connection, since one node down
    is not the cluster down; a timeout is then not retried, so the caller's deadline holds."""

    def options(self, **kwargs: Any) -> ClusterClient:
        retries = kwargs.get("max_retries")
        others = len(self.transport.node_pool.all()) - 1
        if isinstance(retries, int) and retries < others:
            kwargs["max_retries"] = others
            if retries == 0:
                kwargs.setdefault("retry_on_timeout", False)
        return super().options(**kwargs)


def make_client(settings: Settings, *, url: str | None = None) -> Elasticsearch:
    """A client for ``url`` (default: ``settings.es.effective_url``) with the configured auth and TLS.

    Several comma-separated URLs (nodes of one cluster) become the client's hosts (a ClusterClient): a
    request to a node that does not answer is retried on the next one. API key wins over basic auth when both are set.
    TLS options apply to ``https`` URLs only; a CA bundle configured for plain ``http`` URLs is a
    ConfigError rather than silently ignored.
    """
    es = settings.es
    target = url or es.effective_url
    hosts = split_urls(target)
    scheme = urlsplit(hosts[0]).scheme
    kwargs: dict = {
        "hosts": hosts,
        "request_timeout": es.request_timeout,
        "retry_on_timeout": True,
        "max_retries": max(3, len(hosts)),
    }
    if es.api_key:
        kwargs["api_key"] = es.api_key
    elif es.username:
        kwargs["basic_auth"] = (es.username, es.password or "")
    if scheme == "https":
        kwargs["verify_certs"] = es.verify_certs
        if not es.verify_certs:
            kwargs["ssl_show_warn"] = False
        if es.ca_certs is not None:
            if not es.ca_certs.is_file():
                raise ConfigError(f"es.ca_certs names {es.ca_certs}, which is not a readable file")
            kwargs["ca_certs"] = str(es.ca_certs)
    elif es.ca_certs is not None:
        raise ConfigError(f"es.ca_certs is set but the Elasticsearch URL {target} is not https")
    return ClusterClient(**kwargs) if len(hosts) > 1 else Elasticsearch(**kwargs)


def ping_or_raise(client: Elasticsearch, url: str) -> dict:
    """Return cluster health if the cluster answers; otherwise raise one-line ClusterUnavailable.

    Uses ``_cluster/health`` rather than ``GET /``: the integration-test distribution lacks the
    ``rest-root`` module, so ``ping()``/``info()`` cannot tell a live node from a dead one there.
    """
    try:  # a client over several nodes tries each once (ClusterClient)
        resp = client.options(request_timeout=PING_TIMEOUT, max_retries=0).cluster.health()
    except UnsupportedProductError as exc:
        raise unreachable(url, "the server there is not Elasticsearch") from exc
    except ApiError as exc:
        if exc.meta.headers.get("x-elastic-product") != "Elasticsearch":
            raise unreachable(url, f"the server there is not Elasticsearch ({describe_error(exc)})") from exc
        hint = (
            " Check MEDIAWATCH_ES_API_KEY or MEDIAWATCH_ES_USERNAME/MEDIAWATCH_ES_PASSWORD."
            if exc.meta.status in (401, 403) else ""
        )
        raise ClusterUnavailable(
            f"Elasticsearch at {url} refused the request: {describe_error(exc)}.{hint}"
        ) from exc
    except (TransportError, OSError, ValueError) as exc:
        raise unreachable(url, exc) from exc
    return dict(resp.body)


def unreachable(url: str, exc: BaseException | str) -> ClusterUnavailable:
    """The standard one-line 'cannot reach the cluster' error, with a short reason."""
    reason = exc if isinstance(exc, str) else describe_error(exc)
    return ClusterUnavailable(
        f"Elasticsearch at {url} is unreachable: {reason}. "
        "Start the local node with `mediawatch es start` or set MEDIAWATCH_ES_URL."
    )


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^)>'\"\]]+)")


def describe_error(exc: BaseException) -> str:
    """A short human reason for a client/transport failure (no object reprs, no newlines)."""
    if isinstance(exc, UnsupportedProductError):
        return "the server is not Elasticsearch"
    if isinstance(exc, ApiError):
        err = exc.body.get("error") if isinstance(exc.body, dict) else None
        kind = err.get("type") if isinstance(err, dict) else None
        return f"HTTP {exc.meta.status}" + (f" {kind}" if kind else "")
    if isinstance(exc, ConnectionTimeout):
        return "the connection timed out"
    texts = [" ".join(str(getattr(exc, "message", None) or exc).split())]
    if isinstance(exc, TransportError) and exc.__cause__ is not None:
        texts.append(" ".join(str(exc.__cause__).split()))
    for part in texts:
        if match := _ERRNO.search(part):
            return match.group(1).strip().rstrip(".").lower()
    text = " ".join(texts)
    for needle, reason in (
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed (set es.ca_certs)"),
        ("WRONG_VERSION_NUMBER", "TLS handshake failed (is the URL's http/https right?)"),
        ("timed out", "the connection timed out"),
        ("Connection refused", "connection refused"),
    ):
        if needle in text:
            return reason
    return (text[:200] + "…") if len(text) > 200 else text or type(exc).__name__
