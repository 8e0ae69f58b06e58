"""Which Prometheus endpoints a CanaryRelease may make the controller query: an admin's allow-list.

A tenant writes `spec.analysis.prometheus.url`; the controller then sends HTTP requests there with its
own network position. Without a bound that is a server-side request forgery (cluster-internal services,
cloud metadata endpoints). The controller's administrator decides instead:

* `--prometheus-url URL`: the endpoint of canaries that name none (always allowed);
* `--prometheus-allow ENTRY` (repeatable): further endpoints a canary may name. ENTRY is
  `scheme://host[:port][/path]` (a missing port means the scheme's default; `:*` any port; a path is a
  prefix matched segment by segment) or `host:port` (http or https, any path).

URLs are compared parsed, never as strings (`http://allowed@evil/` has host `evil`): user info, query
strings, fragments, `.`/`..` path segments, percent-escapes and control characters are refused outright.
Host names compare exactly (case-insensitive): another spelling of an allowed address does not match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_SCHEMES = {"http": 80, "https": 443}
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$")
_HOST_PORT = re.compile(r"^([^/:@]+|\[[0-9a-fA-F:.]+\]):(\d{1,5}|\*)$")
URL_FIELD = "spec.analysis.prometheus.url"


class EndpointRefused(ValueError):
    """A Prometheus URL the controller will not query; the message says why (never with a response)."""


@dataclass(frozen=True)
class TargetUrl:
    """A checked `http(s)://host[:port][/path]` URL."""

    scheme: str
    host: str
    port: int
    path: tuple[str, ...]

    @property
    def text(self) -> str:
        default = _SCHEMES[self.scheme] == self.port
        return f"{self.scheme}://{self.host}{'' if default else f':{self.port}'}" + "".join(
            f"/{s}" for s in self.path)


def parse_url(text: str) -> TargetUrl:
    """Parse a Prometheus base URL, refusing anything that could make matching ambiguous."""
    if not isinstance(text, str) or not text:
        raise EndpointRefused("is empty")
    if len(text) > 2048:
        raise EndpointRefused("is longer than 2048 characters")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in text):
        raise EndpointRefused("contains spaces, control or non-ASCII characters")
    if "\\" in text or "%" in text:
        raise EndpointRefused("contains a backslash or a percent-escape")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise EndpointRefused(f"is not a valid URL ({err})") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise EndpointRefused("must start with http:// or https://")
    if "@" in parts.netloc:
        raise EndpointRefused("must not contain user info (user@host)")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise EndpointRefused("must not contain a query string or a fragment")
    host = (parts.hostname or "").rstrip(".").lower()
    bracketed = parts.netloc.startswith("[")
    if not host or not _HOST.match(f"[{host}]" if bracketed else host):
        raise EndpointRefused("has no valid host")
    segments = tuple(s for s in parts.path.split("/") if s)
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise EndpointRefused(f"has a path segment {segment!r} that is not a plain name")
    return TargetUrl(scheme, f"[{host}]" if bracketed else host, port or _SCHEMES[scheme], segments)


@dataclass(frozen=True)
class AllowEntry:
    """One `--prometheus-allow` entry; `port` None means any port, `schemes` the schemes it admits."""

    schemes: frozenset[str]
    host: str
    port: int | None
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        """`scheme://host[:port|:*][/path]` or `host:port`; raises ValueError naming the problem."""
        host_port = _HOST_PORT.match(text)
        if host_port and "://" not in text:
            target = parse_url(f"http://{host_port.group(1)}")
            port = None if host_port.group(2) == "*" else int(host_port.group(2))
            if port is not None and not 0 < port < 65536:
                raise ValueError(f"{text!r} has a port out of range")
            return cls(frozenset(_SCHEMES), target.host, port)
        any_port = re.match(r"^([a-zA-Z]+://[^/]+):\*(/.*)?$", text)
        try:
            target = parse_url(f"{any_port.group(1)}{any_port.group(2) or ''}" if any_port else text)
        except EndpointRefused as err:
            raise ValueError(f"{text!r} {err}") from None
        return cls(frozenset({target.scheme}), target.host, None if any_port else target.port, target.path)

    def admits(self, url: TargetUrl) -> bool:
        return (url.scheme in self.schemes and url.host == self.host
                and (self.port is None or self.port == url.port)
                and url.path[: len(self.path)] == self.path)


@dataclass(frozen=True)
class PrometheusAccess:
    """The controller's Prometheus policy: a default endpoint and the allow-list. The default (no flags)
    allows nothing: a canary with analysis then fails with a message naming the missing flag."""

    default_url: str | None = None
    allowed: tuple[AllowEntry, ...] = ()

    @classmethod
    def from_flags(cls, default_url: str | None, allow: Iterable[str]) -> PrometheusAccess:
        """Build from the command-line flags; raises ValueError naming a bad flag value."""
        entries = [AllowEntry.parse(text) for text in allow]
        if default_url:
            try:
                target = parse_url(default_url)
            except EndpointRefused as err:
                raise ValueError(f"--prometheus-url {default_url!r} {err}") from None
            entries.append(AllowEntry(frozenset({target.scheme}), target.host, target.port, target.path))
            default_url = target.text
        return cls(default_url or None, tuple(entries))

    def resolve(self, url: str | None) -> str:
        """The URL to query for a canary's `spec.analysis.prometheus.url` (None: the default); raises
        EndpointRefused with a message that starts with the field's path."""
        if not url:
            if self.default_url is None:
                raise EndpointRefused(f"{URL_FIELD}: required, because the controller has no default "
                                      "(--prometheus-url)")
            return self.default_url
        try:
            target = parse_url(url)
        except EndpointRefused as err:
            raise EndpointRefused(f"{URL_FIELD}: {err}") from None
        if not any(entry.admits(target) for entry in self.allowed):
            raise EndpointRefused(f"{URL_FIELD}: {target.text} is not on the controller's Prometheus "
                                  "allow-list (--prometheus-allow); nothing was queried")
        return target.text
