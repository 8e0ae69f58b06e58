"""`rudder diff NAME CHART_DIR`: what `rudder upgrade` with the same arguments would change.

Exit status as `kubectl diff`: 0 no differences, 1 differences, 2 or more an error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rudder.cli import options
from rudder.cli.chartsource import desired_release
from rudder.cli.connection import connect, resolve_namespace
from rudder.cli.diffing import Change, ObjectDiff, diff_dict, format_diff, object_diff, release_diff
from rudder.cli.errors import CliError
from rudder.cli.output import dump
from rudder.cli.releases import get_release, histories
from rudder.cli.rendering import offline_objects, plan_offline, read_values_from, with_live_values_from
from rudder.domain.drift_policy import strip_ignored
from rudder.domain.history import history_inventory
from rudder.domain.history_codec import HistoryCorrupt
from rudder.domain.objects import ref_of
from rudder.domain.prune import inventory_of, plan_prune, stale_refs
from rudder.domain.redaction import Redactor, secret_object_values, values_from_redactor
from rudder.drift_spec import parse_drift
from rudder.kube.client import Kube, KubeError, Ref
from rudder.kube.release_io import history_secret_data, stored_values_from_redactor
from rudder.models import ObjectRef, parse_release_spec

EXIT_SAME, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff", help="show what an upgrade would change, field by field",
        description=(__doc__ or "").split("\n\n")[0] + " Exit status: 0 no differences, 1 differences, 2 error.",
    )
    parser.add_argument("name", help="Release name")
    parser.add_argument("chart_dir", metavar="CHART_DIR", help="chart directory")
    options.add_values(parser)
    options.add_chart_format(parser)
    options.add_output(parser)
    options.add_target(parser)
    parser.set_defaults(handler=run, error_code=EXIT_ERROR)


def run(args: argparse.Namespace) -> int:
    target = options.target_of(args)
    namespace = resolve_namespace(target)
    loaded, body = desired_release(args, namespace, archive=args.archive)
    kube = connect(target)
    live_release = get_release(kube, namespace, args.name)
    status = (live_release or {}).get("status") or {}
    # Rendered as the controller will: with the valuesFrom the upgrade keeps, read as the CLI's user.
    rendered = with_live_values_from(body, live_release)
    contents = read_values_from(kube, rendered)
    plan = plan_offline(rendered, loaded.directory, revision=int(status.get("revision") or 0) + 1,
                        values_from_contents=contents)
    desired = offline_objects(plan)
    spec = parse_release_spec(rendered["spec"])
    lives = [_live(kube, namespace, obj) for obj in desired]
    # Live objects may still hold what the running revision rendered from older secret values (a rotated
    # or rolled-back password): those are as secret as the current ones.
    known = [*desired, *(live for live, _ in lives if live)]
    secrets = values_from_redactor(spec.values_from, contents).merged(Redactor.of(secret_object_values(known)))
    if live_release is not None:
        secrets = secrets.merged(_running_secrets(kube, namespace, args.name, status.get("revision")))
    # The CLI never writes spec.drift: the upgrade applies under the live Release's ignore rules, which leave
    # out the ignored fields another manager owns (an HPA's replicas): no difference to show for those.
    ignore = parse_drift(((live_release or {}).get("spec") or {}).get("drift"), lambda _path, _message: None).ignore
    objects = []
    for obj, (live, why) in zip(desired, lives, strict=True):
        if why is None:
            objects.append(object_diff(strip_ignored(obj, live, ignore), live, secrets))
        else:
            objects.append(ObjectDiff(str(ref_of(obj)), why[0], note=why[1]))
    if live_release is not None:
        objects.extend(_removed(kube, namespace, args.name, status.get("revision"), desired))
    diff = release_diff((live_release or {}).get("spec"), body["spec"], objects)
    if args.output:
        sys.stdout.write(dump(diff_dict(diff), args.output))
    else:
        sys.stdout.write(format_diff(diff, f"{namespace}/{args.name}", exists=live_release is not None))
    return EXIT_DIFFERENT if diff.changed else EXIT_SAME


Unreadable = tuple[Change, str]  # why an object cannot be compared: the change to report and a note


def _live(kube: Kube, namespace: str, desired: dict[str, Any]) -> tuple[dict[str, Any] | None, Unreadable | None]:
    """The live object, or why it cannot be compared (a change and a note)."""
    ref = Ref.of(desired, namespace)
    namespaced = kube.is_namespaced(ref.api_version, ref.kind)
    if namespaced is None:
        return None, (Change.CREATE, f"the server does not serve {ref.kind} in {ref.api_version}")
    if not namespaced:
        ref = Ref(ref.api_version, ref.kind, ref.name, None)
    try:
        return kube.get(ref), None
    except KubeError as err:
        if not err.forbidden:
            raise
        return None, (Change.UNCHANGED, f"cannot read it: {err.message}")


def _running_secrets(kube: Kube, namespace: str, name: str, revision: Any) -> Redactor:
    """The valuesFrom Secret values the running revision was rendered with (its history's payload), when the
    CLI's user may read them; live objects may still show them."""
    current = next((h for h in histories(kube, namespace, name) if h["spec"].get("revision") == revision), None)
    if current is None:
        return Redactor()
    try:
        data = history_secret_data(kube, namespace, current)
    except KubeError:
        return Redactor()
    return stored_values_from_redactor(current["spec"], data) if data else Redactor()


def _removed(kube: Kube, namespace: str, name: str, revision: Any, desired: list[dict[str, Any]]) -> list[ObjectDiff]:
    """Live objects of the current revision that the new one no longer has: the upgrade prunes them, except
    those annotated to be kept."""
    current = next((h for h in histories(kube, namespace, name) if h["spec"].get("revision") == revision), None)
    if current is None:
        return []
    try:
        previous = history_inventory(current["spec"])
    except HistoryCorrupt as err:
        raise CliError(f"ReleaseHistory {current['metadata']['name']}: {err}") from None
    live = [obj for ref in stale_refs(previous, inventory_of(desired)) if (obj := _get(kube, namespace, ref))]
    present = {(o["kind"], o["metadata"]["name"]) for o in live}
    plan = plan_prune(previous, inventory_of(desired), live_objects=live)
    return [
        ObjectDiff(f"{r.kind}/{r.name}", change, note=note)
        for refs, change, note in ((plan.delete, Change.DELETE, "pruned"),
                                   (plan.keep, Change.UNCHANGED, "no longer in the chart; kept by annotation"))
        for r in refs
        if (r.kind, r.name) in present
    ]


def _get(kube: Kube, namespace: str, ref: ObjectRef) -> dict[str, Any] | None:
    namespaced = kube.is_namespaced(ref.api_version, ref.kind)
    if namespaced is None:
        return None
    return kube.get(Ref(ref.api_version, ref.kind, ref.name, namespace if namespaced else None))
