"""Which cluster and namespace a command talks to, resolved as kubectl does.

`--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`; in a pod without any of them, the in-cluster
ServiceAccount. The namespace is `-n`, else the kubeconfig context's namespace, else `default`. Reading the
kubeconfig for the namespace never contacts the cluster, so offline commands (`template`, `package`) can use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import urllib3.exceptions
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from rudder.cli.errors import EXIT_USAGE, CliError, connection_problem
from rudder.domain.names import dns1123_label_problem, shown
from rudder.kube.client import Kube

DEFAULT_NAMESPACE = "default"
_UNUSABLE_KUBECONFIG = (ConfigException, OSError, ValueError, yaml.YAMLError, TypeError, AttributeError, KeyError,
                        IndexError)
_SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Target:
    """The command-line choice of cluster: kubeconfig file, context and namespace (None: the defaults)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


def _kubeconfig_files(target: Target) -> list[str]:
    if target.kubeconfig:
        return [target.kubeconfig]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _has_kubeconfig(target: Target) -> bool:
    return any(Path(p).is_file() for p in _kubeconfig_files(target))


def _config_file(target: Target) -> str:
    """The kubeconfig file(s) to load, as the client merges them (`a:b`). Always explicit: the client's own
    default is read from $KUBECONFIG once, when it is imported."""
    return os.pathsep.join(p for p in _kubeconfig_files(target) if Path(p).is_file())


def _in_cluster(target: Target) -> bool:
    return not _has_kubeconfig(target) and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def resolve_namespace(target: Target) -> str:
    """`-n`, else the namespace of the kubeconfig's (chosen) context, else `default`; a CliError (usage exit
    status) when it is not a valid namespace name, so no request ever carries it."""
    namespace = _namespace(target)
    problem = dns1123_label_problem(namespace)
    if problem:
        source = "-n/--namespace" if target.namespace else "the kubeconfig context's namespace"
        raise CliError(f"{source} {shown(namespace)}: {problem}", code=EXIT_USAGE)
    return namespace


def _namespace(target: Target) -> str:
    if target.namespace:
        return target.namespace
    if _in_cluster(target):
        try:
            return _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or DEFAULT_NAMESPACE
        except OSError:
            return DEFAULT_NAMESPACE
    if not _has_kubeconfig(target):
        return DEFAULT_NAMESPACE
    try:
        contexts, active = config.list_kube_config_contexts(config_file=_config_file(target))
    except _UNUSABLE_KUBECONFIG:
        return DEFAULT_NAMESPACE  # an unusable kubeconfig is reported by connect(), if one is needed
    chosen = next((c for c in contexts or () if c.get("name") == target.context), None) if target.context else active
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else DEFAULT_NAMESPACE


def _api_client(target: Target) -> client.ApiClient:
    if _in_cluster(target):
        config.load_incluster_config()
        return client.ApiClient()
    if target.kubeconfig and not Path(target.kubeconfig).is_file():
        raise CliError(f"--kubeconfig {target.kubeconfig}: no such file")
    if not _has_kubeconfig(target):
        raise CliError(
            f"no kubeconfig found (looked at {', '.join(_kubeconfig_files(target))}); "
            "pass --kubeconfig or set KUBECONFIG"
        )
    try:
        return config.new_client_from_config(config_file=_config_file(target), context=target.context)
    except ConfigException as err:
        raise CliError(f"kubeconfig: {err}") from None
    except _UNUSABLE_KUBECONFIG as err:
        # Garbage, binary or wrongly shaped files: the client library fails with whatever it tripped on.
        raise CliError(f"kubeconfig {_config_file(target)}: not a usable kubeconfig file "
                       f"({type(err).__name__})") from None


def connect(target: Target) -> Kube:
    """A client for the target cluster; an unreachable or refusing server is a CliError naming it."""
    api = _api_client(target)
    host = api.configuration.host
    try:
        return Kube(api)  # discovery runs here: the first request to the server
    except urllib3.exceptions.HTTPError as err:
        raise CliError(f"cannot reach the Kubernetes API at {host}: {connection_problem(err)}") from None
    except ApiException as err:
        raise CliError(f"the Kubernetes API at {host} refused the connection: HTTP {err.status} {err.reason}") from None
