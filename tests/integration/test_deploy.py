"""The in-cluster install (deploy/) against the real control plane: every kustomization passes a
server-side dry-run and the controller pods are admitted under the restricted Pod Security level;
the controllers, authenticated as the install's ServiceAccount (a real token, bound by the rendered
ClusterRole or the namespaced overlay's Role), run a Release and a CanaryRelease through their whole
life without a single refused request; two peering replicas let exactly one act, and when the acting
one is killed the other takes over within the peering lifetime, with exactly one ReleaseHistory per
revision. The image's install step works in a clean virtualenv."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.canary import WEB, WEB_SERVICE
from tests.support.cluster import Cluster
from tests.support.controller import LOG_DIR, ControllerProcess
from tests.support.releases import (
    GROUP,
    VERSION,
    create_release,
    get_release,
    histories,
    patch_release,
    release_body,
    wait_release,
)
from tests.support.wait import WaitTimeout, wait_for
from tests.unit.deploy.manifests import (
    DEPLOY,
    IGNORE_FILE,
    KUSTOMIZATIONS,
    REPO,
    build_context,
    container,
    find,
    instructions,
    kubectl,
    render,
    render_text,
)

pytestmark = pytest.mark.integration

INSTALL_NAMESPACE = "rudder-system"
SERVICE_ACCOUNT = "rudder"
FIELD_MANAGER = "rudder-deploy-tests"
# The Deployment's --peering-lifetime: the failover figure measured here is the one documented.
LIFETIME = int(next(a.split("=", 1)[1] for a in container(render(DEPLOY))["args"]
                    if a.startswith("--peering-lifetime=")))
FIGURES = LOG_DIR / "deploy-figures.txt"


# -- helpers ---------------------------------------------------------------------------------------


def run_kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([kubectl(), "--kubeconfig", cluster.kubeconfig, *args], input=stdin, check=False,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{done.stderr}")
    return done


def apply(cluster: Cluster, objects: list[dict[str, Any]], *,
          dry_run: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-"]
    if dry_run:
        args.append("--dry-run=server")
    return run_kubectl(cluster, *args, stdin=yaml.safe_dump_all(objects))


def established(cluster: Cluster, names: list[str]) -> bool:
    ext = client.ApiextensionsV1Api(cluster.api)
    for name in names:
        conditions = ext.read_custom_resource_definition(name).status.conditions or []
        if not any(c.type == "Established" and c.status == "True" for c in conditions):
            return False
    return True


def token_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> str:
    """A kubeconfig that authenticates with a token of the ServiceAccount, as a pod of it would."""
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    token = cluster.core.create_namespaced_service_account_token(account, namespace, request).status.token
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    cluster_entry = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
    user = f"{namespace}-{account}"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster_entry],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": cluster_entry["name"], "user": user}}],
        "current-context": user,
    }))
    return str(path)


def counter(proc: ControllerProcess, name: str, **labels: str) -> float:
    """Sum of a counter's samples whose labels include `labels`."""
    tags = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in proc.metrics().items()
               if k.startswith(name + "{") and all(t in k for t in tags))


def reconciles(proc: ControllerProcess) -> float:
    return counter(proc, "rudder_release_reconciles_total")


def history_creates(proc: ControllerProcess) -> float:
    return counter(proc, "rudder_api_write_requests_total", verb="create", kind="ReleaseHistory")


def assert_never_refused(*procs: ControllerProcess) -> None:
    for proc in procs:
        log = proc.log()
        assert "forbidden" not in log.lower(), f"a request was refused; log {proc.log_path}:\n{log[-3000:]}"


def record(figure: str, seconds: float) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {figure} {seconds:.2f}s\n")
    print(f"{figure}: {seconds:.2f}s")


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(cluster: Cluster) -> Iterator[list[dict[str, Any]]]:
    """The base's CRDs, Namespace, ServiceAccount, ClusterRole, binding and ClusterKopfPeering, applied
    for real (the Deployment is applied by the test that needs it); removed afterwards."""
    objects = render(DEPLOY)

    def namespace_usable() -> bool:
        try:
            ns = cluster.core.read_namespace(INSTALL_NAMESPACE)
        except ApiException as exc:
            return bool(exc.status == 404)
        return bool(ns.status.phase != "Terminating")

    wait_for(namespace_usable, timeout=120, what=f"namespace {INSTALL_NAMESPACE} from an earlier run to go")
    crds = render(DEPLOY / "crds")
    apply(cluster, crds)
    wait_for(lambda: established(cluster, [c["metadata"]["name"] for c in crds]), timeout=60,
             what="the install's CRDs to be Established")
    wanted = ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering")
    apply(cluster, [o for o in objects if o["kind"] in wanted])
    try:
        yield objects
    finally:
        rbac = client.RbacAuthorizationV1Api(cluster.api)
        deletions: list[Callable[[], Any]] = [
            lambda: rbac.delete_cluster_role_binding(find(objects, "ClusterRoleBinding")["metadata"]["name"]),
            lambda: rbac.delete_cluster_role(find(objects, "ClusterRole")["metadata"]["name"]),
            lambda: cluster.custom.delete_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", "rudder"),
            lambda: cluster.core.delete_namespace(INSTALL_NAMESPACE),
        ]
        for delete in deletions:
            try:
                delete()
            except ApiException as exc:
                if exc.status != 404:
                    raise


@pytest.fixture(scope="module")
def deploy_identity(installed: list[dict[str, Any]], cluster: Cluster,
                    tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kubeconfig for the install's ServiceAccount (bound by the rendered ClusterRole)."""
    sa = find(installed, "ServiceAccount")["metadata"]
    return token_kubeconfig(cluster, sa["namespace"], sa["name"], tmp_path_factory.mktemp("sa") / "kubeconfig")


@pytest.fixture(scope="module")
def servicemonitor_kind(cluster: Cluster) -> Iterator[None]:
    """A stand-in for the Prometheus Operator's ServiceMonitor CRD (not part of the local cluster), with
    an open schema: enough for the API server to accept the kind in a dry-run."""
    name = "servicemonitors.monitoring.coreos.com"
    ext = client.ApiextensionsV1Api(cluster.api)
    try:
        ext.read_custom_resource_definition(name)
        created = False
    except ApiException as exc:
        if exc.status != 404:
            raise
        cluster.apply({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                     "names": {"kind": "ServiceMonitor", "listKind": "ServiceMonitorList",
                               "plural": "servicemonitors", "singular": "servicemonitor"},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
        })
        created = True
        wait_for(lambda: established(cluster, [name]), timeout=60, what="the ServiceMonitor stand-in CRD")
    try:
        yield
    finally:
        if created:
            ext.delete_custom_resource_definition(name)


# -- the manifests on the API server ---------------------------------------------------------------


@pytest.mark.usefixtures("servicemonitor_kind")
@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_kustomization_passes_a_server_side_dry_run(cluster: Cluster, installed: list[dict[str, Any]],
                                                     name: str) -> None:
    objects = render(KUSTOMIZATIONS[name])

    done = apply(cluster, objects, dry_run=True)

    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == len(objects), done.stdout
    assert all("(server dry run)" in line for line in lines), done.stdout
    assert "PodSecurity" not in done.stderr, done.stderr


def test_controller_pods_are_admitted_under_restricted_pod_security(
        cluster: Cluster, installed: list[dict[str, Any]]) -> None:
    deployment = find(render(DEPLOY), "Deployment", "rudder-controller")
    namespace = deployment["metadata"]["namespace"]
    apply(cluster, [deployment])
    try:
        def both_admitted() -> bool:
            live = cluster.apps.read_namespaced_deployment(deployment["metadata"]["name"], namespace).status
            failures = [c for c in live.conditions or [] if c.type == "ReplicaFailure" and c.status == "True"]
            assert not failures, failures[0].message
            return bool(live.replicas == 2)

        wait_for(both_admitted, timeout=90, what="the controller Deployment's two pods to be created")
        privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "too-much", "namespace": namespace},
                      "spec": {"containers": [{"name": "c", "image": "busybox",
                                               "securityContext": {"privileged": True}}]}}
        with pytest.raises(AssertionError, match="violates PodSecurity"):
            apply(cluster, [privileged], dry_run=True)
    finally:
        cluster.apps.delete_namespaced_deployment(deployment["metadata"]["name"], namespace)


# -- the controllers with the install's identity ---------------------------------------------------


def test_release_lifecycle_with_the_deploy_identity(cluster: Cluster, deploy_identity: str, iso_namespace: str) -> None:
    ns = iso_namespace
    # A namespace pattern (not an exact name), so kopf also lists and watches namespaces and CRDs as it
    # does when the install watches the whole cluster.
    controller = ControllerProcess(deploy_identity, args=["--namespace", f"{ns}*"]).start(LOG_DIR)
    try:
        create_release(cluster, ns, release_body("shop"))
        wait_release(cluster, ns, "shop", phase="Ready", revision=1)

        patch_release(cluster, ns, "shop", {"spec": {"values": {"greeting": "bonjour"}}})
        wait_release(cluster, ns, "shop", phase="Ready", revision=2)
        assert cluster.core.read_namespaced_config_map("shop-config", ns).data["greeting"] == "bonjour"

        patch_release(cluster, ns, "shop", {"spec": {"rollbackTo": {"revision": 1}}})
        wait_release(cluster, ns, "shop", phase="Ready", revision=1)
        wait_for(lambda: "rollbackTo" not in get_release(cluster, ns, "shop")["spec"], timeout=30,
                 what="rollbackTo cleared")
        assert cluster.core.read_namespaced_config_map("shop-config", ns).data["greeting"] == "hello"
        assert [h["spec"]["revision"] for h in histories(cluster, ns, "shop")] == [1, 2]

        _release_as_its_own_service_account(cluster, ns)

        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, "releases", "shop")
        wait_for(lambda: not _exists(lambda: get_release(cluster, ns, "shop")), timeout=60,
                 what="the Release to be uninstalled and its finalizer released")
        assert not _exists(lambda: cluster.core.read_namespaced_config_map("shop-config", ns))
        assert histories(cluster, ns, "shop") == []
        assert_never_refused(controller)
    finally:
        controller.stop()


def _release_as_its_own_service_account(cluster: Cluster, ns: str) -> None:
    """spec.serviceAccountName: applied as that account (the install may impersonate ServiceAccounts)."""
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    cluster.core.create_namespaced_service_account(ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(
        name="deployer")))
    rbac.create_namespaced_role(ns, client.V1Role(metadata=client.V1ObjectMeta(name="deployer"), rules=[
        client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "create", "patch", "delete"]),
    ]))
    rbac.create_namespaced_role_binding(ns, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="deployer"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="deployer"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="deployer", namespace=ns)]))
    templates = {"configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: team-settings}\n"
                                   "data: {mode: {{ values.mode | quote }}}\n"}
    create_release(cluster, ns, release_body("team", templates=templates, chart_values={"mode": "on"},
                                             serviceAccountName="deployer"))
    wait_release(cluster, ns, "team", phase="Ready", revision=1)
    cm = cluster.core.read_namespaced_config_map("team-settings", ns)
    managers = {entry.manager for entry in cm.metadata.managed_fields or []}
    assert "rudder" in managers


def _exists(read: Any) -> bool:
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.mark.usefixtures("policies")
def test_canary_release_with_the_deploy_identity(cluster: Cluster, deploy_identity: str, iso_namespace: str) -> None:
    ns = iso_namespace
    controller = ControllerProcess(deploy_identity, args=["--namespace", ns]).start(LOG_DIR)
    try:
        create_release(cluster, ns, release_body(
            "web", templates={"deployment.yaml": WEB, "service.yaml": WEB_SERVICE},
            chart_values={"replicas": 2, "tag": "3.10"}))
        wait_release(cluster, ns, "web", phase="Ready", revision=1)

        # A weighted step analysed with a library ClusterMetricPolicy against a Prometheus that does not
        # answer: the policy is read (MetricPolicy first, then ClusterMetricPolicy), the measurements are
        # Errors, and the canary pauses; a manual promote then goes through the Release.
        canary(cluster, ns, "web-v2", {
            "release": "web", "values": {"tag": "3.9"}, "baseline": True,
            "router": {"type": "service", "service": "web"},
            "steps": [{"weight": 50, "duration": "2s"}],
            "analysis": {"interval": "1s", "prometheus": {"url": "http://127.0.0.1:9"},
                         "metrics": [{"policy": "http-error-rate"}], "onInconclusive": "pause"},
            "progressDeadline": "2m",
        })
        paused = wait_canary(cluster, ns, "web-v2", "Paused", timeout=120)
        assert paused["status"]["verdict"] == "Error"
        assert paused["status"]["analysis"][-1]["metrics"][0]["name"] == "http-error-rate"
        services = {s.metadata.name for s in cluster.core.list_namespaced_service(ns).items}
        assert {"web-canary", "web-baseline"} <= services, "the router's per-track Services"

        annotate(cluster, ns, "web-v2", "promote")
        promoted = wait_canary(cluster, ns, "web-v2", "Promoted", timeout=120)
        assert promoted["status"]["promotedRevision"] == 2
        rel = wait_release(cluster, ns, "web", phase="Ready", revision=2)
        assert rel["spec"]["values"]["tag"] == "3.9"
        assert histories(cluster, ns, "web")[-1]["spec"]["source"] == {"kind": "Promotion", "canaryRelease": "web-v2"}
        wait_for(lambda: copies(cluster, ns) == [], timeout=60, what="the canary copies to be deleted")

        # A second canary held at a pause step, then aborted: rolled back, the Release untouched.
        canary(cluster, ns, "web-v3", {"release": "web", "values": {"tag": "4.0"},
                                       "router": {"type": "service", "service": "web"},
                                       "steps": [{"pause": {}}], "progressDeadline": "2m"})
        wait_canary(cluster, ns, "web-v3", "Paused", timeout=120)
        annotate(cluster, ns, "web-v3", "abort")
        wait_canary(cluster, ns, "web-v3", "RolledBack", timeout=120)
        assert "rudder.dev/action" not in (get_canary(cluster, ns, "web-v3")["metadata"].get("annotations") or {})
        assert get_release(cluster, ns, "web")["status"]["revision"] == 2
        wait_for(lambda: copies(cluster, ns) == [], timeout=60, what="the aborted canary's copies to be deleted")
        assert_never_refused(controller)
    finally:
        controller.stop()


def canary(cluster: Cluster, ns: str, name: str, spec: dict[str, Any]) -> None:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CanaryRelease", "metadata": {"name": name}, "spec": spec}
    cluster.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "canaryreleases", body)


def get_canary(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    return cluster.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
        GROUP, VERSION, ns, "canaryreleases", name)


def wait_canary(cluster: Cluster, ns: str, name: str, phase: str, *, timeout: float) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        obj = get_canary(cluster, ns, name)
        seen.update(obj.get("status") or {})
        return obj if seen.get("phase") == phase else None

    try:
        return wait_for(reached, timeout=timeout, what=f"CanaryRelease {name} phase {phase}")
    except WaitTimeout as err:
        brief = {k: seen.get(k) for k in ("phase", "step", "weight", "verdict", "message")}
        raise WaitTimeout(f"{err}; last status seen: {brief}") from None


def annotate(cluster: Cluster, ns: str, name: str, action: str) -> None:
    cluster.custom.patch_namespaced_custom_object(GROUP, VERSION, ns, "canaryreleases", name,
                                                  {"metadata": {"annotations": {"rudder.dev/action": action}}})


def copies(cluster: Cluster, ns: str) -> list[str]:
    items = cluster.apps.list_namespaced_deployment(ns, label_selector="rudder.dev/track").items
    return sorted(d.metadata.name for d in items)


def test_cluster_wide_replica_with_the_deploy_identity_stands_by_behind_a_higher_peer(
        cluster: Cluster, deploy_identity: str, installed: list[dict[str, Any]]) -> None:
    """The Deployment's own arguments, cluster-wide: the replica joins the ClusterKopfPeering (the
    ClusterRole lets it), is healthy while it stands by, does nothing, and leaves when stopped. A peer
    with a higher priority holds the floor, so this replica never acts on the shared test cluster."""
    name = f"rudder-test-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC).isoformat()
    cluster.custom.create_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", {
        "apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name},
        "status": {"holder": {"priority": 2**62, "lifetime": 600, "lastseen": now}},
    })
    args = [a for a in container(installed)["args"] if not a.startswith(("--peering=", "--metrics-port=",
                                                                           "--health-port="))]

    def peers() -> set[str]:
        obj = cluster.custom.get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", name)
        return set(obj.get("status") or {})

    standby = ControllerProcess(deploy_identity, args=[*args, "--peering", name], env={"POD_ID": "standby-0"})
    try:
        standby.start(LOG_DIR)
        wait_for(lambda: peers() == {"holder", "standby-0"}, timeout=30, what="the replica's keep-alive")
        assert standby.healthy(), "a standby is healthy (and Ready)"
        assert reconciles(standby) == 0 and standby.writes() == 0
        standby.stop()
        wait_for(lambda: peers() == {"holder"}, timeout=30, what="the stopped replica to leave the peering")
        assert_never_refused(standby)
    finally:
        standby.stop()
        cluster.custom.delete_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", name)


# -- two replicas ------------------------------------------------------------------------------------


@pytest.fixture
def namespaced_install(cluster: Cluster, iso_namespace: str, tmp_path: Path) -> str:
    """The namespaced overlay rendered for the test's namespace (ServiceAccount, Role, RoleBinding,
    KopfPeering) applied for real; returns a kubeconfig for its ServiceAccount."""
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": iso_namespace,
        "resources": [os.path.relpath(KUSTOMIZATIONS["namespaced"], tmp_path)],
    }))
    objects = [o for o in yaml.safe_load_all(render_text(tmp_path)) if o]
    apply(cluster, [o for o in objects if o["kind"] in ("ServiceAccount", "Role", "RoleBinding", "KopfPeering")])
    sa = find(objects, "ServiceAccount")["metadata"]
    return token_kubeconfig(cluster, iso_namespace, sa["name"], tmp_path / "kubeconfig")


def peering_members(cluster: Cluster, ns: str) -> set[str]:
    obj = cluster.custom.get_namespaced_custom_object("kopf.dev", "v1", ns, "kopfpeerings", "rudder")
    return set(obj.get("status") or {})


def start_peer(kubeconfig: str, ns: str, identity: str) -> ControllerProcess:
    args = ["--namespace", ns, "--peering", "rudder", f"--peering-lifetime={LIFETIME}"]
    # A 1 s safety net: the acting replica visibly keeps reconciling, the standby visibly does not.
    return ControllerProcess(kubeconfig, args=args, env={"POD_ID": identity, "RUDDER_TEST_RESYNC": "1"}).start(LOG_DIR)


@pytest.fixture
def acting_and_standby(cluster: Cluster, iso_namespace: str,
                       namespaced_install: str) -> Iterator[tuple[ControllerProcess, ControllerProcess]]:
    """`peer-a` started first, then (once it is in the peering) `peer-b`, so a ranks first; Release
    `shop` is Ready at revision 1, and a keeps resyncing it while b has done nothing at all."""
    ns = iso_namespace
    started: list[ControllerProcess] = []
    try:
        started.append(start_peer(namespaced_install, ns, "peer-a"))
        wait_for(lambda: "peer-a" in peering_members(cluster, ns), timeout=30, what="peer-a's keep-alive")
        started.append(start_peer(namespaced_install, ns, "peer-b"))
        wait_for(lambda: peering_members(cluster, ns) == {"peer-a", "peer-b"}, timeout=30,
                 what="peer-b's keep-alive")
        active, standby = started
        create_release(cluster, ns, release_body("shop"))
        wait_release(cluster, ns, "shop", phase="Ready", revision=1)
        baseline = reconciles(active)
        wait_for(lambda: reconciles(active) >= baseline + 3, timeout=30, what="the active replica's resyncs")
        assert reconciles(standby) == 0, "the standby reconciled"
        assert standby.writes() == 0, "the standby wrote"
        yield active, standby
    finally:
        for proc in started:
            proc.stop()


def seconds_until_acting(proc: ControllerProcess, since: float) -> float:
    wait_for(lambda: reconciles(proc) > 0, timeout=LIFETIME + 30, interval=0.1, what=f"{proc.env['POD_ID']} to act")
    return time.monotonic() - since


def upgrade_to_revision_2(cluster: Cluster, ns: str) -> list[str]:
    """Upgrade `shop` through whichever replica acts now; the names of its ReleaseHistory objects."""
    patch_release(cluster, ns, "shop", {"spec": {"values": {"greeting": "hej"}}})
    wait_release(cluster, ns, "shop", phase="Ready", revision=2)
    return [h["metadata"]["name"] for h in histories(cluster, ns, "shop")]


def test_one_replica_acts_and_a_standby_takes_over_after_sigkill(
        cluster: Cluster, iso_namespace: str, acting_and_standby: tuple[ControllerProcess, ControllerProcess]) -> None:
    ns = iso_namespace
    a, b = acting_and_standby
    created_by_a = history_creates(a)

    killed = time.monotonic()
    a.kill()
    takeover = seconds_until_acting(b, killed)

    record(f"failover after SIGKILL (peering lifetime {LIFETIME}s)", takeover)
    assert takeover <= LIFETIME + 5
    assert upgrade_to_revision_2(cluster, ns) == ["shop-v1", "shop-v2"]
    assert created_by_a + history_creates(b) == 2, "exactly one ReleaseHistory written per revision"
    wait_for(lambda: peering_members(cluster, ns) == {"peer-b"}, timeout=30,
             what="the dead peer to be cleaned from the peering")
    assert_never_refused(a, b)


def test_a_stopped_replica_hands_over_at_once(
        cluster: Cluster, iso_namespace: str, acting_and_standby: tuple[ControllerProcess, ControllerProcess]) -> None:
    """SIGTERM (a rollout, a drain): the acting replica leaves the peering as it stops, so the standby
    does not wait for the lifetime to expire."""
    a, b = acting_and_standby

    stopped = time.monotonic()
    a.stop()
    handover = seconds_until_acting(b, stopped)

    record("handover after SIGTERM", handover)
    assert handover < LIFETIME / 2, "the standby did not wait for the lifetime"
    assert upgrade_to_revision_2(cluster, iso_namespace) == ["shop-v1", "shop-v2"]
    assert_never_refused(a, b)


# -- the image ---------------------------------------------------------------------------------------


def test_image_install_step_works_in_a_clean_virtualenv(tmp_path: Path) -> None:
    """The Dockerfile's RUN pip install, on exactly the files its build context sends, into a fresh
    virtualenv; then the installed console script answers --help and refuses a bad flag."""
    context = tmp_path / "src"
    for rel in build_context(REPO, IGNORE_FILE):
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, context / rel)
    (install,) = [args for word, args in instructions() if word == "RUN" and "pip" in args and " install " in args]
    venv = tmp_path / "venv"
    command = install.replace("/src", shlex.quote(str(context)))
    env = {**os.environ, "VENV": str(venv), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, check=False, capture_output=True,
                          text=True, timeout=480)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record("image install step in a clean virtualenv", time.monotonic() - started)

    entry = venv / "bin" / "rudder-controller"
    helped = subprocess.run([str(entry), "--help"], cwd=tmp_path, env=env, check=False, capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "--peering-lifetime" in helped.stdout and "--health-port" in helped.stdout
    refused = subprocess.run([str(entry), "--controllers", "helm"], cwd=tmp_path, env=env, check=False,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unknown helm" in refused.stderr
    imported = subprocess.run([str(venv / "bin" / "python"), "-c", "import canary.handlers, rudder.handlers"],
                              cwd=tmp_path, env=env, check=False, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
