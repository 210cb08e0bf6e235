"""``caiclient.diagnose`` / ``caiclient doctor`` against the emulator, one fault at a time."""

from __future__ import annotations

import io
import json
import math
import socket
import sys
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import caiclient
from caiclient import cli, errors
from caiclient.doctor import Check, Report, _bounded, _scrub, diagnose
from caiclient.emulator import Emulator
from caiclient.emulator.faults import Drift as DriftChange
from caiclient.emulator.faults import apply_drift
from caiclient.models import Account, Character, Turn
from caiclient.models._drift import Drift, find_drift

TIMEOUT = 5.0


def session_for(emu: Emulator, token: Any = "default") -> caiclient.Session:
    return caiclient.Session(
        emu.token if token == "default" else token,
        endpoints=caiclient.Endpoints.for_emulator(emu.url),
        timeout=(TIMEOUT, TIMEOUT),
    )


@pytest.fixture
def doctor(cai_emulator: Emulator) -> Iterator[Any]:
    """``doctor(token=...)`` -> the Report for a fresh session on the emulator."""
    opened: List[caiclient.Session] = []

    def run(token: Any = "default", **kw: Any) -> Report:
        s = session_for(cai_emulator, token)
        opened.append(s)
        report = diagnose(s, timeout=TIMEOUT, **kw)
        assert_safe(report, cai_emulator)
        return report

    yield run
    for s in opened:
        s.close()


def assert_safe(report: Report, emu: Emulator) -> None:
    """No token, in the text or the JSON."""
    for text in (report.to_text(), report.to_json()):
        for secret in (emu.token, emu.other_token):
            assert secret not in text


def by_id(report: Report, id: str) -> List[Check]:
    return [c for c in report.checks if c.id == id]


def one(report: Report, id: str) -> Check:
    found = by_id(report, id)
    assert len(found) == 1, [c.title for c in report.checks]
    return found[0]


def schema(report: Report, label: str) -> Check:
    return next(c for c in report.checks if c.title == f"schema: {label}")


# ------------------------------------------------------------------ the healthy case


def test_healthy_setup_is_all_ok(doctor: Any, cai_emulator: Emulator) -> None:
    report = doctor()
    verdicts = {c.title: c.verdict for c in report.checks}
    assert set(verdicts.values()) == {"ok"}, verdicts
    assert [c.id for c in report.checks][:6] == [
        "network", "clock", "bot_protection", "token", "websocket", "chat"
    ]
    assert {c.title for c in by_id(report, "schema")} == {
        "schema: account.me()",
        "schema: account.settings()",
        "schema: chats.recent()",
        "schema: characters.get()",
        "schema: chats.page()",
        "schema: account.voices()",
    }
    assert report.ok and report.exit_code == 0
    assert report.target == "emulator" and report.authenticated
    assert report.library == caiclient.__version__
    assert one(report, "network").details[0] == "hosts: plus, neo, web, cdn, ws"
    data = json.loads(report.to_json())
    assert data["ok"] is True and data["counts"]["fail"] == 0
    assert [c["verdict"] for c in data["checks"]] == [c.verdict for c in report.checks]
    # the chat path sends nothing: no websocket command reached the emulator
    assert not [e for e in cai_emulator.log if e.get("kind") == "ws"]


def test_report_never_shows_content_or_chat_ids(doctor: Any, cai_session: Any) -> None:
    cid = caiclient.emulator.Emulator().character_ids[0]
    chat, _ = cai_session.chats.create(cid)
    secret_text = "the-secret-message-zebra-42"
    reply = cai_session.chats.send(cid, chat.chat_id, secret_text)
    report = doctor()
    for text in (report.to_text(), report.to_json()):
        assert secret_text not in text
        assert reply.text not in text
        assert chat.chat_id not in text
        assert reply.turn_id not in text
    assert schema(report, "chats.page()").verdict == "ok"


def test_guest_session_warns_and_skips_what_needs_a_token(doctor: Any) -> None:
    report = doctor(token=None)
    assert one(report, "token").verdict == "warn"
    assert "caiclient login" in one(report, "token").hint
    assert one(report, "websocket").verdict == "skip"
    assert one(report, "chat").verdict == "skip"
    assert {c.title for c in by_id(report, "schema")} == {
        "schema: characters.get()", "schema: voices.featured()"
    }
    assert report.exit_code == 0 and not report.authenticated


# ------------------------------------------------------------------ one fault at a time


@pytest.mark.parametrize("kind", ["challenge", "access_denied", "waiting_room"])
def test_bot_protection_pages_are_told_apart(
    doctor: Any, cai_emulator: Emulator, kind: str
) -> None:
    cai_emulator.faults.html_block("/neo/", kind=kind)
    cai_emulator.faults.html_block("/plus/", kind=kind)
    report = doctor()
    bot = one(report, "bot_protection")
    assert bot.verdict == "fail"
    assert f"({kind})" in bot.summary
    if kind == "waiting_room":
        assert "high load" in bot.hint
    else:
        assert "impersonate='chrome'" in bot.hint
    # the token is not blamed for the block
    assert one(report, "token").verdict == "skip"
    assert "bot protection" in one(report, "token").summary
    assert report.exit_code == 1


def test_handshake_refused_while_http_accepts_the_token(
    doctor: Any, cai_emulator: Emulator
) -> None:
    cai_emulator.faults.refuse_ws_handshake("always")
    report = doctor()
    assert one(report, "token").verdict == "ok"
    ws = one(report, "websocket")
    assert ws.verdict == "fail"
    assert "although HTTP accepts the token" in ws.summary
    assert "the token is fine" in ws.summary
    assert "impersonate='chrome'" in ws.hint
    assert one(report, "chat").verdict == "skip"
    assert report.exit_code == 1


def test_bad_token(doctor: Any) -> None:
    report = doctor(token="0123456789abcdef0123456789abcdef01234567")
    tok = one(report, "token")
    assert tok.verdict == "fail"
    assert "rejects the token" in tok.summary
    assert "caiclient login" in tok.hint
    assert one(report, "websocket").verdict == "skip"
    assert report.exit_code == 1


def test_token_that_does_not_look_like_one_is_a_warning() -> None:
    odd = "my-pasted-cookie-not-a-token"
    seed = {"users": [{"id": 487612399, "username": "carol", "name": "Carol", "token": odd}]}
    with caiclient.emulator.serve(seed=seed) as emu:
        s = session_for(emu, odd)
        try:
            report = diagnose(s, timeout=TIMEOUT)
        finally:
            s.close()
        text = report.to_text() + report.to_json()
    tok = one(report, "token")
    assert tok.verdict == "warn"
    assert "does not look like a Character.AI token" in tok.summary
    assert tok.details[0] == f"format: unusual ({len(odd)} characters, not 40 hexadecimal)"
    assert odd not in text


def test_retyped_field_is_a_warning_with_its_path(doctor: Any, cai_emulator: Emulator) -> None:
    cai_emulator.faults.drift("/plus/chat/user/", "retype", "user.user.username")
    report = doctor()
    me = schema(report, "account.me()")
    assert me.verdict == "warn"
    assert "changed type" in me.summary and "update caiclient" in me.hint
    assert "Account.user.username: expected string, got object: the default was used" in me.details
    assert report.exit_code == 0  # a warning, not a failure


def test_missing_required_field_fails(doctor: Any, cai_emulator: Emulator) -> None:
    cai_emulator.faults.drift("/neo/character/", "drop", "character.external_id")
    report = doctor(character_id=cai_emulator.character_ids[0])
    ch = schema(report, "characters.get()")
    assert ch.verdict == "fail"
    assert "a field it needs is missing" in ch.summary
    assert any("external_id" in d for d in ch.details)
    assert report.exit_code == 1


def test_missing_optional_field_is_noted(doctor: Any, cai_emulator: Emulator) -> None:
    baseline = schema(doctor(), "account.voices()")
    cai_emulator.faults.drift("/neo/multimodal/api/v1/voices/", "drop", "voices.*.name")
    report = doctor()
    voices = schema(report, "account.voices()")
    assert voices.verdict == "ok"
    assert any("optional field(s) absent" in d for d in voices.details)
    assert voices.details != baseline.details


def test_new_field_is_listed(doctor: Any, cai_emulator: Emulator) -> None:
    cai_emulator.faults.drift("/plus/chat/user/", "add", "user.brand_new_field", 7)
    report = doctor()
    me = schema(report, "account.me()")
    assert me.verdict == "ok"
    assert "Account.brand_new_field: new field (number) that the library ignores" in me.details


def test_renamed_field_shows_as_missing_and_new(doctor: Any, cai_emulator: Emulator) -> None:
    cai_emulator.faults.drift("/neo/character/", "rename", "character.external_id", "ext_id")
    report = doctor(character_id=cai_emulator.character_ids[0])
    ch = schema(report, "characters.get()")
    assert ch.verdict == "fail"


def test_closed_port(cai_emulator: Emulator) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    s = caiclient.Session(
        cai_emulator.token,
        endpoints=caiclient.Endpoints.for_emulator(f"http://127.0.0.1:{port}"),
        timeout=(2, 2),
        max_retries=0,
    )
    try:
        report = diagnose(s, timeout=2)
    finally:
        s.close()
    net = one(report, "network")
    assert net.verdict == "fail"
    assert f"cannot connect to 127.0.0.1:{port}" in net.summary
    assert "emulator running" in net.hint
    assert one(report, "bot_protection").verdict == "fail"
    assert report.exit_code == 1
    assert cai_emulator.token not in report.to_text() + report.to_json()


# ------------------------------------------------------------------ the command


def run_cli(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str, token: bool = True
) -> Tuple[int, str, str]:
    monkeypatch.delenv("CAI_EMULATOR_URL", raising=False)
    if token:
        monkeypatch.setenv("CAI_TOKEN", emu.token)
    else:
        monkeypatch.delenv("CAI_TOKEN", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = cli.main(["doctor", *args, "--emulator-url", emu.url, "--timeout", "5"])
    out, err = capsys.readouterr()
    assert emu.token not in out + err
    return code, out, err


def test_cli_text_and_exit_codes(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, out, _ = run_cli(cai_emulator, monkeypatch, capsys)
    assert code == 0
    assert "[  OK] chat websocket: handshake accepted" in out
    assert "0 failed" in out
    cai_emulator.faults.refuse_ws_handshake("always")
    code, out, _ = run_cli(cai_emulator, monkeypatch, capsys)
    assert code == 1
    assert "[FAIL] chat websocket" in out and "troubleshooting" in out


def test_cli_json(cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    cai_emulator.faults.drift("/plus/chat/user/", "retype", "user.user.username")
    code, out, _ = run_cli(cai_emulator, monkeypatch, capsys, "--json")
    data: Dict[str, Any] = json.loads(out)
    assert code == 0
    me = next(c for c in data["checks"] if c["title"] == "schema: account.me()")
    assert me["verdict"] == "warn"
    assert data["hosts"]["neo"] == cai_emulator.url + "/neo"


def test_cli_guest_never_prompts(
    cai_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    code, out, err = run_cli(cai_emulator, monkeypatch, capsys, token=False)
    assert code == 0
    assert "none (guest session)" in out and "token" not in err.lower()


# ------------------------------------------------------------------ the pieces


def test_token_and_block_errors_point_to_the_doctor(cai_emulator: Emulator) -> None:
    s = session_for(cai_emulator, "0" * 40)
    try:
        with pytest.raises(errors.AuthenticationError) as auth:
            s.account.me()
        cai_emulator.faults.html_block("/plus/")
        with pytest.raises(errors.BlockedError) as blocked:
            s.account.me()
    finally:
        s.close()
    for err in (auth.value, blocked.value):
        assert str(err).endswith("; run `caiclient doctor` to see why (docs: Troubleshooting)")
    assert "caiclient doctor" not in str(errors.NotFound("x", status=404))


def test_diagnose_checks_its_arguments(cai_session: Any) -> None:
    for bad in (0, -1, math.nan, math.inf, "5", True):
        with pytest.raises(errors.ValidationError):
            diagnose(cai_session, timeout=bad)
    with pytest.raises(errors.ValidationError):
        diagnose(cai_session, character_id="")


def test_bounded_call_gives_up_in_time() -> None:
    release = threading.Event()
    with pytest.raises(TimeoutError):
        _bounded(lambda: release.wait(30), 0.05, "DNS")
    release.set()
    assert _bounded(lambda: 42, 1, "DNS") == 42
    with pytest.raises(OSError):
        _bounded(lambda: socket.getaddrinfo("bad host name with spaces.invalid", 80), 5, "DNS")


def test_scrub_hides_id_like_path_components() -> None:
    assert _scrub("Settings.personaOverrides.0c5a7e10-5eed-4000-8000-00000000a1c0") == (
        "Settings.personaOverrides.<id>"
    )
    assert _scrub("Account.user.username") == "Account.user.username"


TURN = {
    "turn_key": {"chat_id": "c1", "turn_id": "t1"},
    "author": {"author_id": "1", "name": "Ada", "is_human": False},
    "candidates": [{"candidate_id": "k1", "raw_content": "hi", "is_final": True}],
    "primary_candidate_id": "k1",
}


def test_find_drift_on_a_clean_turn_reports_only_absent_optionals() -> None:
    found = find_drift(Turn, TURN)
    assert {d.kind for d in found} <= {"missing"}


def test_find_drift_kinds() -> None:
    bad = json.loads(json.dumps(TURN))
    bad["candidates"][0]["raw_content"] = {"oops": 1}
    bad["shiny"] = [1]
    bad["author"]["extra"] = True
    del bad["turn_key"]["turn_id"]
    found = find_drift(Turn, bad)
    assert found == [Drift("Turn.turn_key.turn_id", "missing_required", expected="field")]
    del bad["turn_key"]
    bad["turn_key"] = {"chat_id": "c1", "turn_id": "t1"}
    kinds = {(d.path, d.kind) for d in find_drift(Turn, bad)}
    assert ("Turn.candidates[0].raw_content", "retyped") in kinds
    assert ("Turn.shiny", "new") in kinds


def test_find_drift_accepts_what_the_converter_coerces() -> None:
    raw = {"external_id": "x", "upvotes": "12", "copyable": "false", "name": 5}
    found = {(d.path, d.kind) for d in find_drift(Character, raw)}
    assert not [k for k in found if k[1] == "retyped"], found
    raw["copyable"] = "perhaps"
    assert ("Character.copyable", "retyped") in {(d.path, d.kind) for d in find_drift(Character, raw)}


def test_find_drift_of_a_non_object() -> None:
    assert find_drift(Account, [1]) == [Drift("Account", "retyped", expected="Account", got="array")]


def test_drift_strings_name_no_values() -> None:
    raw = {"external_id": "x", "title": {"secret": "value-zebra"}}
    text = " ".join(str(d) for d in find_drift(Character, raw))
    assert "value-zebra" not in text and "Character.title" in text


def test_apply_drift_operations() -> None:
    body: Dict[str, Any] = {"a": {"b": "x", "c": [1]}, "turns": [{"author": 1}, {"author": 2}]}
    apply_drift(
        body,
        [
            DriftChange("rename", "turns.*.author", "writer"),
            DriftChange("retype", "a.b"),
            DriftChange("retype", "a.c"),
            DriftChange("drop", "missing.path"),
            DriftChange("add", "a.new", 3),
        ],
    )
    assert body == {
        "a": {"b": {"drifted": True}, "c": "drifted", "new": 3},
        "turns": [{"writer": 1}, {"writer": 2}],
    }


def test_drift_fault_validation_and_times(cai_emulator: Emulator) -> None:
    f = cai_emulator.faults
    with pytest.raises(ValueError):
        f.drift("/plus/", "explode", "x")
    with pytest.raises(ValueError):
        f.drift("/plus/", "rename", "x")
    f.drift("/plus/chat/user/", "add", "user.once", 1, times=1)
    assert f.take_drift("/plus/chat/user/") and not f.take_drift("/plus/chat/user/")


def test_drift_fault_from_the_emulator_command_line() -> None:
    from caiclient.emulator.cli import _apply_faults, build_parser

    emu = Emulator()
    args = build_parser().parse_args(
        ["--fault-drift", "/plus/chat/user/:add:user.n=12", "--fault-drift", "/neo/:drop:x"]
    )
    _apply_faults(emu, args)
    changes = emu.faults.take_drift("/plus/chat/user/")
    assert [(c.op, c.field, c.value) for c in changes] == [("add", "user.n", 12)]
    with pytest.raises(SystemExit):
        _apply_faults(emu, build_parser().parse_args(["--fault-drift", "/plus/:nope:x"]))
