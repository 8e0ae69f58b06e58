"""valuesFrom Secret values never leave in clear: not through the stored history or `status.notes` in any form
a chart can give them (map keys, numbers, short values, `b64enc`, `tojson`: F7), not through error messages
(YAML errors, undefined keys, expression errors: F6), and not past the status/Event write boundary, where
every message is redacted with the secrets of the reconcile in progress."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import kopf
import pytest

from canary.domain.fork import ForkError
from canary.kube.observe import _render as canary_render
from rudder import handlers
from rudder.domain import Failure, RevisionPlan, plan_revision
from rudder.domain.history_codec import decode_manifest, decode_notes, encode_manifest, stored_manifest_text
from rudder.domain.ownership import ReleaseIdentity
from rudder.domain.redaction import (
    REDACTED,
    Redactor,
    raw_document_secrets,
    secret_object_values,
    values_from_redactor,
)
from rudder.handlers import ReconcileCrashed, crashed
from rudder.kube import secrecy
from rudder.kube.client import KubeError
from rudder.kube.release_io import emit_event, patch_status, stored_values_from_redactor
from rudder.models import parse_release_spec

OWNER = ReleaseIdentity("shop", "team", "uid-1")
LONG = "Sentinel-9f3a-long"
SHORT = "hunt3r"
PIN = 482913


def forms(secret: str) -> list[str]:
    """The clear, base64 and JSON-escaped forms a leak check looks for."""
    return [secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]]


def leaked(text: str, *secrets: str) -> list[str]:
    return [form for secret in secrets for form in forms(secret) if form in text]


# --- the redactor's rules ------------------------------------------------------------------------


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("secrets", "text", "expected"), [
    ([LONG], f"password={LONG};", f"password={REDACTED};"),
    ([LONG], f"x{LONG}y", f"x{REDACTED}y"),
    ([SHORT], f"password={SHORT}", f"password={REDACTED}"),
    ([SHORT], f"{SHORT}x is another word", f"{SHORT}x is another word"),
    (["ab"], "ab", REDACTED),
    (["ab"], "abc ab cab", "abc ab cab"),
    ([str(PIN)], f"pin {PIN}.", f"pin {REDACTED}."),
    ([LONG], base64.b64encode(LONG.encode()).decode(), REDACTED),
    ([LONG], "token " + base64.b64encode(LONG.encode()).decode().rstrip("="), f"token {REDACTED}"),
    ([LONG], base64.urlsafe_b64encode(LONG.encode()).decode(), REDACTED),
    (['p"w\\d-secret'], 'x "p\\"w\\\\d-secret"', f'x "{REDACTED}"'),
    (["pässwörd-123"], '"p\\u00e4ssw\\u00f6rd-123"', f'"{REDACTED}"'),
    (["line-one\nline-two"], '{"k":"line-one\\nline-two"}', f'{{"k":"{REDACTED}"}}'),
    ([SHORT], base64.b64encode(SHORT.encode()).decode(), REDACTED),
    ([], f"nothing {LONG}", f"nothing {LONG}"),
])
def test_text_redaction_rules(secrets: list[str], text: str, expected: str) -> None:
    assert Redactor.of(secrets).text(text) == expected


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "user:"])
def test_base64_of_a_longer_text_containing_the_secret_is_redacted_at_every_alignment(prefix: str) -> None:
    blob = base64.b64encode(f"{prefix}{LONG}:suffix".encode()).decode()
    redacted = Redactor.of([LONG]).text(blob)
    assert REDACTED in redacted
    # Every base64 character that depends only on the secret's bytes is gone: the secret cannot be decoded
    # from what is left.
    left = redacted.replace(REDACTED, "")
    assert len(blob) - len(left) >= (8 * len(LONG)) // 6 - 2


@pytest.mark.corpus("secrets")
def test_trees_redact_keys_numbers_and_values_but_not_structure() -> None:
    tree = {LONG: "a", f"x-{LONG}": "b", "pin": PIN, "pi": 3.5, "flag": True, "list": [SHORT, 7], "n": None}
    redacted = Redactor.of([LONG, SHORT, str(PIN), "3.5"]).tree(tree)
    assert redacted == {REDACTED: "a", f"x-{REDACTED}": "b", "pin": REDACTED, "pi": REDACTED, "flag": True,
                        "list": [REDACTED, 7], "n": None}


@pytest.mark.corpus("secrets")
def test_colliding_redacted_keys_stay_distinct() -> None:
    redacted = Redactor.of(["first-secret", "second-secret"]).tree({"first-secret": 1, "second-secret": 2})
    assert redacted == {REDACTED: 1, f"{REDACTED}-2": 2}


@pytest.mark.corpus("secrets")
def test_unparsable_secret_documents_count_every_word() -> None:
    assert raw_document_secrets("password: *hunter2x\n", None) >= {"password", "hunter2x"}
    assert raw_document_secrets("a: [1, 2]\nb: word\n", {"a": [1, 2], "b": "word"}) == {
        "a: [1, 2]\nb: word", "1", "2", "word"}


@pytest.mark.corpus("secrets")
def test_secret_objects_contribute_clear_and_decoded_values() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Secret", "data": {"a": base64.b64encode(b"from-data-1").decode()},
         "stringData": {"b": "from-string-data"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"c": "not-secret"}},
    ]
    assert secret_object_values(objects) == {
        base64.b64encode(b"from-data-1").decode(), "from-data-1", "from-string-data"}


@pytest.mark.corpus("secrets")
def test_configmap_value_sources_are_not_secrets() -> None:
    spec = parse_release_spec({"chart": {"templates": {}}, "valuesFrom": [
        {"configMapKeyRef": {"name": "public", "key": "v"}}, {"secretKeyRef": {"name": "s", "key": "v"}}]})
    redactor = values_from_redactor(spec.values_from, ["shown: public-value-1", f"hidden: {LONG}"])
    assert redactor.text("public-value-1 and " + LONG) == f"public-value-1 and {REDACTED}"


# --- F7: the history and status.notes, through the real renderer ----------------------------------


def release_spec(templates: dict[str, str]) -> dict[str, Any]:
    return {"chart": {"templates": templates},
            "valuesFrom": [{"secretKeyRef": {"name": "creds", "key": "values.yaml"}}]}


VALUES_FROM = [f"pw: {LONG}\nshort: {SHORT}\npin: {PIN}\nweird: 'q\"uo\\\\te-secret'\nusers: {{admin: x}}\n"]


def cm(data: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg}}\ndata:\n{data}\n"


F7_TEMPLATES = {
    "map key": cm('  "{{ values.pw }}": "x"'),
    "integer": cm('  pin: "{{ values.pin }}"'),
    "short in text": cm('  dsn: "user=app password={{ values.short }};host=db"'),
    "b64enc": cm('  token: "{{ values.pw | b64enc }}"'),
    "b64enc of a longer text": cm('  auth: "{{ ("user:" ~ values.pw) | b64enc }}"'),
    "tojson": cm("  json: {{ values.weird | tojson | quote }}"),
    "tojson of the whole map": cm("  all: {{ values | tojson | quote }}"),
    "annotation": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
                   "  annotations: {note: 'pw is {{ values.pw }}'}\n"),
    "secret data": ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                    "data: {k: '{{ values.pw | b64enc }}'}\nstringData: {'{{ values.pw }}': x}\n"),
}


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize("case", sorted(F7_TEMPLATES))
def test_history_and_notes_hold_no_secret_in_any_form(case: str) -> None:
    templates = {"t.yaml": F7_TEMPLATES[case],
                 "NOTES.txt": "{{ values.pw }} {{ values.pw | b64enc }} pin={{ values.pin }} "
                              "{{ values.short }}"}
    plan = plan_revision(parse_release_spec(release_spec(templates)), OWNER, 1, values_from_contents=VALUES_FROM)
    assert isinstance(plan, RevisionPlan), plan
    stored = stored_manifest_text(plan.history["spec"]) + plan.manifest.notes + plan.notes + json.dumps(plan.history)
    assert leaked(stored, LONG, SHORT, str(PIN), 'q"uo\\te-secret') == []
    assert REDACTED in stored
    # The exact objects and notes still come back from the history Secret.
    assert decode_manifest(plan.history["spec"], plan.manifest.secret_data) == plan.objects
    assert decode_notes(plan.history["spec"], plan.manifest.secret_data).startswith(LONG)


# --- F6: error messages -------------------------------------------------------------------------


F6_CASES = {
    "undefined alias": ([f"pw: *{LONG}\n"], cm("  a: b")),
    "unknown tag": ([f"pw: !{LONG} x\n"], cm("  a: b")),
    "unknown escape": (['pw: "Sentinel-\\q-long-value"\n'], cm("  a: b")),
    "undefined key": (VALUES_FROM, cm("  a: '{{ values.users[values.pw] }}'")),
    "undefined attribute": (VALUES_FROM, cm("  a: '{{ values[values.pw] }}'")),
    "missing dict element": (VALUES_FROM, cm("  a: '{{ {}[values.pw] }}'")),
    "short secret as a key": (VALUES_FROM, cm("  a: '{{ values[values.short] }}'")),
    "int conversion": (VALUES_FROM, cm("  a: '{{ values.pw | int + values.pw }}'")),
    "string plus number": (VALUES_FROM, cm("  a: '{{ values.pw + 1 }}'")),
    "required message": (VALUES_FROM, cm("  a: '{{ values.nope | required(values.pw) }}'")),
    "invalid rendered YAML": (VALUES_FROM, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ values.pw }}: x}\n"),
    "invalid name": (VALUES_FROM, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'x/{{ values.pw }}'}\n"),
    "foreign namespace": (VALUES_FROM,
                          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: 'ns-{{ values.short }}'}\n"),
}


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize("case", sorted(F6_CASES))
def test_failure_messages_quote_no_secret(case: str) -> None:
    contents, template = F6_CASES[case]
    failure = plan_revision(parse_release_spec(release_spec({"t.yaml": template})), OWNER, 1,
                            values_from_contents=contents)
    assert isinstance(failure, Failure), failure
    assert failure.message, case
    assert leaked(failure.message, LONG, "Sentinel-\\q-long-value", SHORT) == [], failure.message


# --- F6: the status/Event write boundary --------------------------------------------------------


class RecordingKube:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []
        self.created: list[dict[str, Any]] = []

    def patch(self, ref: Any, patch: dict[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        self.patches.append(patch)
        return {}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        return body


RELEASE = {"apiVersion": "rudder.dev/v1alpha1", "kind": "Release",
           "metadata": {"name": "shop", "namespace": "team", "uid": "u"}, "status": {}}


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize("message", [
    f'ConfigMap "cfg" is invalid: data[{LONG}]: Invalid value: "{LONG}"',
    f"Secret s: metadata.labels: Invalid value: {json.dumps(LONG)}",
    f"dry-run: spec.template.env[0].value: {SHORT} rejected",
    f"cannot apply: {base64.b64encode(LONG.encode()).decode()}",
])
def test_status_and_events_are_redacted_at_the_write_boundary(message: str) -> None:
    kube = RecordingKube()
    status = {"phase": "Failed", "message": message, "revision": PIN, "observedGeneration": 3,
              "conditions": [{"type": "Ready", "status": "False", "message": message}],
              "resources": [{"kind": "ConfigMap", "name": "cfg", "message": message}]}
    with secrecy.scope(Redactor.of([LONG, SHORT, str(PIN)])):
        assert patch_status(kube, RELEASE, status)  # type: ignore[arg-type]
        emit_event(kube, RELEASE, "ApplyFailed", message, warning=True)  # type: ignore[arg-type]
    written = json.dumps(kube.patches) + json.dumps(kube.created)
    assert leaked(written, LONG, SHORT) == []
    sent = kube.patches[0]["status"]
    assert sent["revision"] == PIN and sent["observedGeneration"] == 3, "structured fields keep their values"
    assert sent["phase"] == "Failed"


@pytest.mark.corpus("secrets")
def test_an_unchanged_redacted_status_costs_no_write() -> None:
    kube = RecordingKube()
    with secrecy.scope(Redactor.of([LONG])):
        live = {**RELEASE, "status": {"message": f"bad {REDACTED}"}}
        assert not patch_status(kube, live, {"message": f"bad {LONG}"})  # type: ignore[arg-type]
    assert kube.patches == []


@pytest.mark.corpus("secrets")
def test_scopes_do_not_leak_into_each_other() -> None:
    with secrecy.scope(Redactor.of([LONG])):
        secrecy.remember(Redactor.of(["another-secret-1"]))
        assert secrecy.redact(f"{LONG} another-secret-1") == f"{REDACTED} {REDACTED}"
    assert secrecy.redact(LONG) == LONG


@pytest.mark.corpus("secrets")
def test_unexpected_errors_are_logged_and_raised_redacted(caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise ValueError(f"invalid literal for int() with base 10: {LONG!r}")

    with secrecy.scope(Redactor.of([LONG])), caplog.at_level(logging.ERROR):
        try:
            fail()
        except ValueError as exc:
            error = crashed("team", "shop", exc)
    assert str(error) == f"ValueError: invalid literal for int() with base 10: '{REDACTED}'"
    assert LONG not in caplog.text
    assert "in fail" in caplog.text, "the frames are logged for debugging"


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("entry", "secret"), [
    ({"secretKeyRef": {"name": "creds", "key": "v"}}, True),
    ({"configMapKeyRef": {"name": "public", "key": "v"}}, False),
])
def test_a_stored_revisions_values_from_secrets_are_known_when_its_history_is_read(
    entry: dict[str, Any], secret: bool
) -> None:
    encoded = encode_manifest([], values_from_contents=[f"old: {LONG}\n"])
    assert encoded.secret_data is not None
    redactor = stored_values_from_redactor({"valuesFrom": [entry]}, encoded.secret_data)
    assert redactor.text(f"was {LONG}") == (f"was {REDACTED}" if secret else f"was {LONG}")
    assert not stored_values_from_redactor({"valuesFrom": [entry]}, {"payload": "not base64 gzip"})


class SecretReader:
    """The one valuesFrom Secret the canary's render reads."""

    def get(self, ref: Any) -> dict[str, Any] | None:
        if ref.kind == "Secret" and ref.name == "creds":
            return {"data": {"values.yaml": base64.b64encode(VALUES_FROM[0].encode()).decode()}}
        return None


@pytest.mark.corpus("secrets")
def test_a_canarys_render_error_names_no_values_from_secret() -> None:
    release = {"metadata": {"name": "shop", "namespace": "team"}, "status": {"revision": 1},
               "spec": release_spec({"t.yaml": cm("  a: '{{ values.users[values.pw] }}'")})}
    error = canary_render(SecretReader(), release, {"replicas": 1})  # type: ignore[arg-type]
    assert isinstance(error, ForkError)
    assert str(error) == ("spec.values: rendering Release shop with the canary values: "
                          f"t.yaml:5: values.users.{REDACTED} is undefined")


@pytest.mark.corpus("secrets")
@pytest.mark.parametrize(("raised", "expected_type", "expected"), [
    (KubeError(409, "Conflict", f'Operation cannot be fulfilled: "{LONG}"'), kopf.TemporaryError,
     f'409 Conflict: Operation cannot be fulfilled: "{REDACTED}"'),
    (KeyError(LONG), ReconcileCrashed, f"KeyError: '{REDACTED}'"),
    (ValueError(f"bad {base64.b64encode(LONG.encode()).decode()}"), ReconcileCrashed, f"ValueError: bad {REDACTED}"),
])
def test_errors_leaving_a_reconcile_are_redacted_without_their_cause(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, expected_type: type[Exception], expected: str
) -> None:
    def reconcile(*_: Any) -> None:
        secrecy.remember(Redactor.of([LONG]))  # as reconcile() does once it has read the valuesFrom Secrets
        raise raised

    monkeypatch.setattr(handlers, "reconcile", reconcile)
    with pytest.raises(expected_type) as caught:
        handlers.reconcile_redacted(None, "team", "shop", None, None)  # type: ignore[arg-type]
    assert str(caught.value) == expected
    assert caught.value.__suppress_context__, "the unredacted original is not chained into kopf's log"
    assert secrecy.redact(LONG) == LONG, "the scope ended with the reconcile"
