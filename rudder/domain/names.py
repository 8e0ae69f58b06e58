"""Kubernetes name rules, applied before a name reaches a URL path.

The API server validates each kind's `metadata.name` with one of a few functions (DNS-1123 subdomain for
most kinds and every custom resource, DNS-1123 label for Namespaces, DNS-1035 label for Services, "path
segment name" for the RBAC kinds). Rudder applies the same rule before it sends any request for an object,
so a rendered or stored name can never add path segments (`/`, `..`) or query parameters (`?`) to a URL.
The same rules check the CLI's release names and namespaces.
"""

from __future__ import annotations

import re

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
# A Release name is a label value on every managed object (rudder.dev/release), so at most 63 characters.
RELEASE_NAME_MAX = 63
# Kinds whose names the API server checks as a DNS-1123 label / DNS-1035 label / path segment.
_LABEL_KINDS = frozenset({("", "Namespace")})
_DNS1035_KINDS = frozenset({("", "Service")})
_PATH_SEGMENT_KINDS = frozenset({
    ("rbac.authorization.k8s.io", kind) for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
})
# CronJob names leave room for the Job suffix the controller adds (the API server enforces 52).
_MAX_LENGTH = {("batch", "CronJob"): 52}
_SHOWN = 80  # characters of a bad name quoted in a message


def shown(name: str) -> str:
    """A name for an error message: quoted with escapes (no control characters) and cut when long."""
    text = repr(name[:_SHOWN])
    return text if len(name) <= _SHOWN else f"{text}..."


def dns1123_label_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 label (a namespace), or None."""
    if not value:
        return "must not be empty"
    if len(value) > LABEL_MAX:
        return f"must be at most {LABEL_MAX} characters (has {len(value)})"
    if not _DNS1123_LABEL.match(value):
        return ("must be a DNS-1123 label: lower-case letters, digits and '-', "
                "starting and ending with a letter or digit")
    return None


def dns1123_subdomain_problem(value: str, max_length: int = SUBDOMAIN_MAX) -> str | None:
    """Why `value` is not a DNS-1123 subdomain of at most `max_length` characters, or None."""
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters (has {len(value)})"
    if not _DNS1123_SUBDOMAIN.match(value):
        return ("must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', "
                "starting and ending with a letter or digit")
    return None


def _dns1035_problem(value: str) -> str | None:
    if len(value) > LABEL_MAX:
        return f"must be at most {LABEL_MAX} characters (has {len(value)})"
    if not _DNS1035_LABEL.match(value):
        return ("must be a DNS-1035 label: lower-case letters, digits and '-', "
                "starting with a letter and ending with a letter or digit")
    return None


def _path_segment_problem(value: str) -> str | None:
    if len(value) > SUBDOMAIN_MAX:
        return f"must be at most {SUBDOMAIN_MAX} characters (has {len(value)})"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if "/" in value or "%" in value:
        return "must not contain '/' or '%'"
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "must not contain control characters"
    return None


def object_name_problem(group: str, kind: str, name: str) -> str | None:
    """Why `name` is not a valid `metadata.name` for `kind` in API group `group`, or None.

    As the API server checks it: the RBAC kinds take any path segment (`system:aggregate-to-view`),
    Namespaces a DNS-1123 label, Services a DNS-1035 label, every other kind (custom resources included)
    a DNS-1123 subdomain.
    """
    if not name:
        return "must not be empty"
    key = (group, kind)
    if key in _PATH_SEGMENT_KINDS:
        return _path_segment_problem(name)
    if key in _LABEL_KINDS:
        return dns1123_label_problem(name)
    if key in _DNS1035_KINDS:
        return _dns1035_problem(name)
    return dns1123_subdomain_problem(name, _MAX_LENGTH.get(key, SUBDOMAIN_MAX))


def release_name_problem(name: str) -> str | None:
    """Why `name` cannot name a Release (a DNS-1123 subdomain used as a label value: at most 63), or None."""
    return dns1123_subdomain_problem(name, RELEASE_NAME_MAX)
