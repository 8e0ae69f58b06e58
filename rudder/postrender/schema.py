"""Patch strategies of the built-in kinds: which lists merge by which key, as the Kubernetes API declares
them (`patchStrategy`/`patchMergeKey` in k8s.io/api). Only what strategic merge needs is listed; every field
not named here merges maps key by key and replaces lists whole (JSON merge patch), as for custom resources.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field of a type: the type of its value (or of its list items), and for a list how it merges.

    `merge_key` set: a list of objects merged item by item on that key. `primitive_merge`: a list of
    scalars merged as a set (finalizers). Neither: a list is replaced whole.
    """

    type: str | None = None
    merge_key: str | None = None
    primitive_merge: bool = False


_META = {"metadata": Field("ObjectMeta")}
_TEMPLATE_SPEC = {"template": Field("PodTemplateSpec")}

TYPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {
        "finalizers": Field(primitive_merge=True),
        "ownerReferences": Field(merge_key="uid"),
    },
    "PodTemplateSpec": {**_META, "spec": Field("PodSpec")},
    "PodSpec": {
        "containers": Field("Container", "name"),
        "initContainers": Field("Container", "name"),
        "ephemeralContainers": Field("Container", "name"),
        "volumes": Field("Volume", "name"),
        "imagePullSecrets": Field(merge_key="name"),
        "hostAliases": Field(merge_key="ip"),
        "topologySpreadConstraints": Field(merge_key="topologyKey"),
        "resourceClaims": Field(merge_key="name"),
        "schedulingGates": Field(merge_key="name"),
    },
    "Container": {
        "ports": Field(merge_key="containerPort"),
        "env": Field(merge_key="name"),
        "volumeMounts": Field(merge_key="mountPath"),
        "volumeDevices": Field(merge_key="devicePath"),
    },
    "Volume": {},
    "WorkloadSpec": _TEMPLATE_SPEC,
    "CronJobSpec": {"jobTemplate": Field("JobTemplateSpec")},
    "JobTemplateSpec": {**_META, "spec": Field("WorkloadSpec")},
    "ServiceSpec": {"ports": Field(merge_key="port")},
}

# (group, kind) -> the type of the object's top level.
_WORKLOADS = {("apps", k) for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")} | {
    ("batch", "Job"), ("", "ReplicationController")}
KINDS: dict[tuple[str, str], dict[str, Field]] = {
    **{key: {**_META, "spec": Field("WorkloadSpec")} for key in _WORKLOADS},
    ("batch", "CronJob"): {**_META, "spec": Field("CronJobSpec")},
    ("", "Pod"): {**_META, "spec": Field("PodSpec")},
    ("", "PodTemplate"): {**_META, "template": Field("PodTemplateSpec")},
    ("", "Service"): {**_META, "spec": Field("ServiceSpec")},
}
# Any other kind: only its metadata has patch strategies.
DEFAULT_KIND: dict[str, Field] = dict(_META)


def fields_of(type_name: str | None) -> dict[str, Field]:
    """The fields with strategies of a type (empty for unknown types and plain values)."""
    return TYPES.get(type_name or "", {})


def kind_fields(api_version: str, kind: str) -> dict[str, Field]:
    """The top-level fields with strategies of an object of `kind`."""
    return KINDS.get((api_version.rpartition("/")[0], kind), DEFAULT_KIND)
