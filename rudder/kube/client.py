"""The one place the Release controller talks to the Kubernetes API.

Objects travel as plain dicts (the wire form); every call that changes something goes
through `_write`, so write requests are counted in one place (a test proves that an
unchanged Release costs zero writes) and API errors are translated into `KubeError`s
that carry the HTTP status and the server's message. Every request, discovery included, first takes a token
of the process's rate limiter (`--kube-qps`/`--kube-burst`), and an answer of 429 Too Many Requests (or 503
with `Retry-After`) is retried after the wait the server asks for, a bounded number of times (`throttle.py`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.dynamic.resource import Resource
from kubernetes.watch.watch import iter_resp_lines
from urllib3.util.retry import Retry

from rudder.kube.metrics import API_READS, API_RETRIES, API_THROTTLED_SECONDS, API_WRITES
from rudder.kube.refs import MISS, CacheMiss, KubeError, Ref
from rudder.kube.refs import path_segment as _segment
from rudder.kube.throttle import Politeness

if TYPE_CHECKING:
    from rudder.kube.informer import ObjectCache

FIELD_MANAGER = "rudder"
# Connect and read timeouts of every request: a hung connection must not stall a Release forever.
REQUEST_TIMEOUT = (5, 60)
# The dynamic client's discovery keeps a shared cache (and a cache file) that is not thread-safe.
_DISCOVERY = threading.RLock()

T = TypeVar("T")

# urllib3 re-sends GETs answered 429/503 with Retry-After by itself (sleeping outside the rate limiter, up to
# 3 times, unseen by our retry count and metrics): the transport keeps retrying broken connections only.
_TRANSPORT_RETRIES = Retry(total=3, respect_retry_after_header=False)

class _Process:
    """The process's one request budget, shared by all its `Kube` clients (`set_politeness`)."""

    politeness = Politeness()


def set_politeness(qps: float, burst: int) -> None:
    """Rate limit of the `Kube` clients created from now on (the controller sets it once, from its flags)."""
    _Process.politeness = Politeness(qps, burst)


def _status_exception(status: int, reason: str | None, body: bytes) -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = body.decode(errors="replace")
    return exc


def _translate(exc: ApiException) -> KubeError:
    message = exc.reason or "error"
    reason = exc.reason or ""
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message", message)
        reason = body.get("reason", reason)
    except (TypeError, ValueError):
        pass
    return KubeError(int(exc.status or 0), str(reason), str(message))


class _PoliteDynamicClient(dynamic.DynamicClient):  # type: ignore[misc]
    """The dynamic client whose every request (discovery's too) is rate limited and retried when the server
    asks to slow down. Retrying is safe for writes: a 429/503 means the server did not process the request."""

    def __init__(self, api: client.ApiClient, politeness: Politeness) -> None:
        self._politeness = politeness  # set first: discovery may send requests from the constructor
        if api.configuration.retries is None:  # a caller's explicit setting stays as it is
            pools = api.rest_client.pool_manager
            pools.connection_pool_kw["retries"] = _TRANSPORT_RETRIES
            pools.clear()  # pools opened before this take their retries from the setting when reopened
        super().__init__(api)

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        attempt = 0
        while True:
            API_THROTTLED_SECONDS.inc(self._politeness.before_request())
            try:
                return super().request(method, path, body, **params)
            except ApiException as exc:
                status = int(exc.status or 0)
                headers = exc.headers or {}
                waited = self._politeness.before_retry(attempt, status, headers.get("Retry-After"))
                if waited is None:
                    raise
                API_RETRIES.labels(status=str(status)).inc()
                attempt += 1


class Kube:
    """Dynamic, discovery-backed access to any kind, with counted writes.

    `impersonate` returns a sibling whose requests act as a ServiceAccount, so a Release
    with `spec.serviceAccountName` can do no more than that account may. Siblings share
    one rate limiter: `politeness`, by default the process's (`set_politeness`).

    With a `cache` (rudder.kube.informer), `get` and `list_objects` are answered from the watch-fed
    cache when it holds the kind, and the answers of writes are fed back into it (read-your-writes).
    An impersonating sibling reads from the API server (its reads must keep the ServiceAccount's
    permissions) but still feeds its writes into the cache.
    """

    def __init__(self, api: client.ApiClient, *, user: str | None = None, cache: ObjectCache | None = None,
                 writes_to: ObjectCache | None = None, politeness: Politeness | None = None) -> None:
        self.api = api
        self.user = user
        self.politeness = politeness or _Process.politeness
        self.cache = cache
        self._writes_to = cache or writes_to
        with _DISCOVERY:
            self._dyn = _PoliteDynamicClient(api, self.politeness)
        self._lock = threading.Lock()
        self._resources: dict[tuple[str, str], Resource | None] = {}
        self._impersonated: dict[str, Kube] = {}

    @classmethod
    def from_environment(cls, kubeconfig: str | None = None, *, cache: ObjectCache | None = None) -> Kube:
        """In-cluster config when running in a pod, else the kubeconfig."""
        try:
            config.load_incluster_config()
            return cls(client.ApiClient(), cache=cache)
        except config.ConfigException:
            return cls(config.new_client_from_config(config_file=kubeconfig), cache=cache)

    def impersonate(self, namespace: str, service_account: str) -> Kube:
        """A client acting as the ServiceAccount (created once per account and reused)."""
        user = f"system:serviceaccount:{namespace}:{service_account}"
        with self._lock:
            known = self._impersonated.get(user)
        if known is not None:
            return known
        api = client.ApiClient(self.api.configuration)
        # No Impersonate-Group: the API server then derives the ServiceAccount's own groups
        # (system:serviceaccounts, system:serviceaccounts:<ns>), as for its token.
        api.set_default_header("Impersonate-User", user)
        clone = Kube(api, user=user, writes_to=self._writes_to, politeness=self.politeness)
        with self._lock:
            return self._impersonated.setdefault(user, clone)

    # -- discovery ---------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource | None:
        """The API resource for a kind, or None when the server does not serve it."""
        key = (api_version, kind)
        with self._lock:
            if key in self._resources:
                return self._resources[key]
        with _DISCOVERY:
            try:
                found: Resource | None = self._dyn.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                found = None
            except ApiException as exc:
                raise _translate(exc) from exc
            if found is None:
                # A CRD may have been installed since discovery was cached; look once more.
                try:
                    self._dyn.resources.invalidate_cache()
                    found = self._dyn.resources.get(api_version=api_version, kind=kind)
                except ResourceNotFoundError:
                    found = None
        if found is not None:  # a miss is looked up again next time: the CRD may be installed later
            with self._lock:
                self._resources[key] = found
        return found

    def is_namespaced(self, api_version: str, kind: str) -> bool | None:
        """True/False from discovery; None for a kind the server does not know."""
        res = self.resource(api_version, kind)
        return None if res is None else bool(res.namespaced)

    def _require(self, api_version: str, kind: str) -> Resource:
        res = self.resource(api_version, kind)
        if res is None:
            raise KubeError(404, "NotFound", f"the server does not serve {kind} in {api_version}")
        return res

    # -- calls -------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ApiException as exc:
            raise _translate(exc) from exc

    def _write(self, verb: str, kind: str, namespace: str | None, fn: Callable[[], T]) -> T:
        API_WRITES.labels(verb=verb, kind=kind, namespace=namespace or "").inc()
        return self._call(fn)

    def _wrote(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self._writes_to is not None and obj.get("kind") and obj.get("kind") != "Status":
            self._writes_to.observe(obj)
        return obj

    def get(self, ref: Ref) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        if self.cache is not None:
            cached = self.cache.get(ref)
            if not isinstance(cached, CacheMiss):
                return cached
        elif self._writes_to is not None:
            # An impersonating sibling reads with its own identity, but changes to what it reads still
            # wake the Release: the controller's cache watches the kind.
            self._writes_to.ensure(ref.api_version, ref.kind)
        API_READS.labels(verb="get", kind=ref.kind).inc()
        res = self._require(ref.api_version, ref.kind)
        try:
            obj = self._call(lambda: self._dyn.get(
                res, name=_segment(ref.name), namespace=_segment(ref.namespace), _request_timeout=REQUEST_TIMEOUT))
        except KubeError as err:
            if err.not_found:
                return None
            raise
        return _plain(obj)

    def list_objects(
        self, api_version: str, kind: str, namespace: str | None, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        if self.cache is not None:
            cached = self.cache.list(api_version, kind, namespace, label_selector)
            if not isinstance(cached, CacheMiss):
                return cached
        API_READS.labels(verb="list", kind=kind).inc()
        res = self._require(api_version, kind)
        got = self._call(lambda: self._dyn.get(
            res, namespace=_segment(namespace), label_selector=label_selector, _request_timeout=REQUEST_TIMEOUT))
        return [_plain(item) for item in got.items]

    def apply(
        self, obj: Mapping[str, Any], *, dry_run: bool = False, force: bool = True, field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Server-side apply, by default as the controller's field manager (the CLI applies as its own)."""
        res = self._require(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        name, namespace = _segment(meta["name"]), _segment(meta.get("namespace"))
        kwargs: dict[str, Any] = {"field_manager": field_manager, "force_conflicts": force,
                                  "_request_timeout": REQUEST_TIMEOUT}
        if dry_run:
            kwargs["dry_run"] = "All"
            fn: Callable[[], Any] = lambda: self._dyn.server_side_apply(  # noqa: E731
                res, body=dict(obj), name=name, namespace=namespace, **kwargs
            )
            return _plain(self._call(fn))
        return self._wrote(_plain(self._write(
            "apply", obj["kind"], meta.get("namespace"),
            lambda: self._dyn.server_side_apply(res, body=dict(obj), name=name, namespace=namespace, **kwargs),
        )))

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        res = self._require(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace")
        return self._wrote(_plain(self._write(
            "create", obj["kind"], ns, lambda: self._dyn.create(
                res, body=dict(obj), namespace=_segment(ns), _request_timeout=REQUEST_TIMEOUT)
        )))

    def patch(self, ref: Ref, patch: Mapping[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        """A JSON merge patch of the object or one of its subresources (`status`)."""
        res = self._require(ref.api_version, ref.kind)
        target = getattr(res, subresource) if subresource else res
        return self._wrote(_plain(self._write(
            "patch", ref.kind if not subresource else f"{ref.kind}/{subresource}", ref.namespace,
            lambda: self._dyn.patch(
                target, body=dict(patch), name=_segment(ref.name), namespace=_segment(ref.namespace),
                content_type="application/merge-patch+json", _request_timeout=REQUEST_TIMEOUT,
            ),
        )))

    def json_patch(self, ref: Ref, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """An RFC 6902 JSON Patch; a failed `test` op comes back as a 422/409 KubeError."""
        res = self._require(ref.api_version, ref.kind)
        return self._wrote(_plain(self._write(
            "patch", ref.kind, ref.namespace,
            lambda: self._dyn.patch(res, body=ops, name=_segment(ref.name), namespace=_segment(ref.namespace),
                              content_type="application/json-patch+json", _request_timeout=REQUEST_TIMEOUT),
        )))

    def delete(self, ref: Ref, *, propagation: str = "Background") -> bool:
        """Delete; False when it was already gone."""
        res = self._require(ref.api_version, ref.kind)
        try:
            self._write("delete", ref.kind, ref.namespace, lambda: self._dyn.delete(
                res,
                name=_segment(ref.name), namespace=_segment(ref.namespace),
                body={"propagationPolicy": propagation}, _request_timeout=REQUEST_TIMEOUT,
            ))
        except KubeError as err:
            if err.not_found:
                if self._writes_to is not None:
                    self._writes_to.observe_deleted(ref)
                return False
            raise
        if self._writes_to is not None:
            self._writes_to.observe_deleted(ref)
        return True

    # -- list+watch for the watch-fed caches (rudder.kube.streams) --------------------------

    def _raw_get(self, api_version: str, kind: str, namespace: str | None, query: list[tuple[str, Any]],
                 timeout: float) -> Any:
        res = self._require(api_version, kind)
        path = res.path(namespace=_segment(namespace))
        request = self.api.param_serialize("GET", path, query_params=query,
                                           header_params={"Accept": "application/json"},
                                           auth_settings=["BearerToken"])
        # Lists and watch opens take a token too (as client-go's do); a 429 here is retried by the stream's backoff.
        API_THROTTLED_SECONDS.inc(self.politeness.before_request())
        response = self._call(lambda: self.api.call_api(*request, _request_timeout=(5, timeout)))
        if not 200 <= response.status <= 299:
            raise _translate(_status_exception(response.status, response.reason, response.read() or b""))
        return response

    def list_page(self, api_version: str, kind: str, namespace: str | None, *, limit: int,
                  token: str | None = None) -> dict[str, Any]:
        """One page of a list (the raw JSON: `items`, `metadata.continue`, `metadata.resourceVersion`)."""
        API_READS.labels(verb="list", kind=kind).inc()
        query: list[tuple[str, Any]] = [("limit", limit)]
        if token:
            query.append(("continue", token))
        page: dict[str, Any] = json.loads(self._raw_get(api_version, kind, namespace, query, 60).read())
        return page

    def watch_events(self, api_version: str, kind: str, namespace: str | None, resource_version: str, *,
                     timeout: int) -> Iterator[dict[str, Any]]:
        """The events of one watch from `resource_version` (bookmarks included) until the server ends it
        after about `timeout` seconds. An expired version is a KubeError 410, raised or sent as an ERROR event."""
        API_READS.labels(verb="watch", kind=kind).inc()
        query: list[tuple[str, Any]] = [("watch", "true"), ("resourceVersion", resource_version),
                                        ("allowWatchBookmarks", "true"), ("timeoutSeconds", timeout)]
        response = self._raw_get(api_version, kind, namespace, query, timeout + 30)
        try:
            for line in iter_resp_lines(response.response):
                if line.strip():
                    yield json.loads(line)
        finally:
            response.response.close()  # a watch broken off mid-stream must not go back to the pool
            response.response.release_conn()

    def iter_namespaced(self, kinds: list[tuple[str, str]], namespace: str, selector: str) -> Iterator[dict[str, Any]]:
        for api_version, kind in kinds:
            if self.resource(api_version, kind) is not None:
                yield from self.list_objects(api_version, kind, namespace, selector)


def _plain(obj: Any) -> dict[str, Any]:
    """ResourceInstance -> plain dict."""
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = obj.to_dict()
    return result


__all__ = ["FIELD_MANAGER", "MISS", "CacheMiss", "Kube", "KubeError", "Ref", "set_politeness"]
