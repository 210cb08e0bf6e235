"""Stored logins: the file (mode 0600, atomic, profiles, per service), the keyring, from_env."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import types
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

import caiclient
import caiclient.aio
from caiclient import credentials, errors
from caiclient.credentials import CredentialsError, CredentialStore, target_of

TOKEN = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"
EMU = caiclient.Endpoints.for_emulator("http://127.0.0.1:8765")


@pytest.fixture
def path() -> Path:
    return Path(os.environ["CAI_CONFIG"])


def test_save_and_load(path: Path) -> None:
    store = CredentialStore()
    assert store.path == path
    assert store.load() is None
    saved = store.save(TOKEN, email="me@example.com", username="me")
    assert not saved.in_keyring
    login = store.load()
    assert login is not None
    assert (login.token, login.email, login.username) == (TOKEN, "me@example.com", "me")
    assert login.profile == "default" and login.target == "https://plus.character.ai"
    assert TOKEN not in repr(login) and "token=<set>" in repr(login)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_is_private_and_replaced_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new-dir" / "credentials.json"
    monkeypatch.setenv("CAI_CONFIG", str(path))
    os.umask(0o022)
    store = CredentialStore()
    store.save(TOKEN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    inode = path.stat().st_ino
    store.save(OTHER, profile="work")
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    leftovers = [p.name for p in path.parent.iterdir() if p.name != "credentials.json.lock"]
    assert leftovers == ["credentials.json"]


def test_a_failed_write_leaves_the_old_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CredentialStore()
    store.save(TOKEN)
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(credentials.os, "replace", boom)
    with pytest.raises(OSError):
        store.save(OTHER)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_profiles_and_services_are_kept_apart(path: Path) -> None:
    store = CredentialStore()
    store.save(TOKEN, username="me")
    store.save(OTHER, profile="work", username="boss")
    store.save("emu-token", target=target_of(EMU), username="alice")
    assert store.load().token == TOKEN  # type: ignore[union-attr]
    assert store.load("work").token == OTHER  # type: ignore[union-attr]
    assert store.load(target=target_of(EMU)).token == "emu-token"  # type: ignore[union-attr]
    assert store.load("work", target_of(EMU)) is None
    assert store.profiles() == {
        "default": sorted(["https://plus.character.ai", "http://127.0.0.1:8765/plus"]),
        "work": ["https://plus.character.ai"],
    }
    assert store.delete("work") is True
    assert store.delete("work") is False
    assert store.load("work") is None and store.load().token == TOKEN  # type: ignore[union-attr]
    for bad in ("a b", "x" * 65, "tab\there", 3):
        with pytest.raises(errors.ValidationError):
            store.save(TOKEN, profile=bad)  # type: ignore[arg-type]


def test_cai_profile_picks_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    store = CredentialStore()
    store.save(OTHER, profile="work")
    monkeypatch.setenv("CAI_PROFILE", "work")
    assert store.load().token == OTHER  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON (line 1, column 2)"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "the top level is not an object"),
        (b'{"version": 7, "profiles": {}}', "unknown version 7"),
        (b'{"version": 1, "profiles": []}', "'profiles' is not an object"),
        (b'{"version": 1, "profiles": {"default": {"x": {"email": "a"}}}}', "holds no token"),
    ],
)
def test_a_corrupted_file_is_a_clear_error_and_is_never_overwritten(
    path: Path, content: bytes, reason: str
) -> None:
    secret_looking = content + b" " + TOKEN.encode() if content.startswith(b"{not") else content
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(secret_looking)
    store = CredentialStore()
    for call in (store.load, lambda: store.save(OTHER), store.delete, store.profiles):
        with pytest.raises(CredentialsError) as info:
            call()
        assert reason in str(info.value) and str(path) in str(info.value)
        assert "left as it is" in str(info.value)
        assert TOKEN not in str(info.value)
        assert info.value.path == path
    assert path.read_bytes() == secret_looking
    # and from_env (every CLI command) says so instead of going on as a guest
    with pytest.raises(CredentialsError):
        caiclient.Session.from_env()


class FakeKeyring(types.ModuleType):
    """The part of the ``keyring`` package's API the store uses."""

    def __init__(self, priority: float = 1.0, refuse: bool = False) -> None:
        super().__init__("keyring")
        self.items: Dict[Tuple[str, str], str] = {}
        self.priority = priority
        self.refuse = refuse

    def get_keyring(self) -> object:
        return types.SimpleNamespace(priority=self.priority)

    def set_password(self, service: str, user: str, password: str) -> None:
        if self.refuse:
            raise RuntimeError("locked")
        self.items[(service, user)] = password

    def get_password(self, service: str, user: str) -> Optional[str]:
        return self.items.get((service, user))

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]


def test_the_keyring_holds_the_token_when_installed(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeKeyring()
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.delenv("CAI_KEYRING")
    store = CredentialStore()
    assert store.save(TOKEN, username="me").in_keyring
    assert TOKEN not in path.read_text(encoding="utf-8")
    assert list(fake.items.values()) == [TOKEN]
    login = store.load()
    assert login is not None and login.token == TOKEN and login.in_keyring
    with caiclient.Session.from_env() as s:
        assert s.credentials.token == TOKEN
    # an entry gone from the keyring is a clear error, not a silent guest
    fake.items.clear()
    with pytest.raises(CredentialsError, match="keyring"):
        store.load()
    store.save(TOKEN)
    assert store.delete() is True
    assert fake.items == {}


def test_no_usable_keyring_means_the_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAI_KEYRING")
    for fake in (FakeKeyring(priority=0), FakeKeyring(refuse=True)):
        monkeypatch.setitem(sys.modules, "keyring", fake)
        assert not CredentialStore().save(TOKEN).in_keyring
        assert (
            json.loads(path.read_text())["profiles"]["default"]["https://plus.character.ai"][
                "token"
            ]
            == TOKEN
        )
    monkeypatch.setitem(sys.modules, "keyring", FakeKeyring())
    monkeypatch.setenv("CAI_KEYRING", "0")
    assert not CredentialStore().save(TOKEN).in_keyring
    assert not CredentialStore(use_keyring=False).save(TOKEN).in_keyring


def test_from_env_falls_back_to_the_stored_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAI_TOKEN", raising=False)
    monkeypatch.delenv("CAI_EMULATOR_URL", raising=False)
    with caiclient.Session.from_env() as s:
        assert s.is_guest
    store = CredentialStore()
    store.save(TOKEN)
    store.save(OTHER, profile="work")
    store.save("emu-token", target=target_of(EMU))
    with caiclient.Session.from_env() as s:
        assert s.credentials.token == TOKEN
    with caiclient.Session.from_env(profile="work") as s:
        assert s.credentials.token == OTHER
    monkeypatch.setenv("CAI_TOKEN", "from-env")
    with caiclient.Session.from_env() as s:
        assert s.credentials.token == "from-env"  # the environment wins
    monkeypatch.delenv("CAI_TOKEN")
    with caiclient.Session.from_env(token=None) as s:
        assert s.is_guest  # an explicit argument wins too
    # a token is only used with the hosts that issued it
    monkeypatch.setenv("CAI_EMULATOR_URL", "http://127.0.0.1:8765")
    with caiclient.Session.from_env() as s:
        assert s.credentials.token == "emu-token"
    monkeypatch.setenv("CAI_EMULATOR_URL", "http://127.0.0.1:9999")
    with caiclient.Session.from_env() as s:
        assert s.is_guest
    client = caiclient.aio.Client.from_env(endpoints=EMU)
    assert client.credentials.token == "emu-token"  # the async face too
    asyncio.run(client.aclose())


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/caiclient/credentials.json"),
        ("linux", {"XDG_CONFIG_HOME": "relative"}, "~/.config/caiclient/credentials.json"),
        ("linux", {}, "~/.config/caiclient/credentials.json"),
        ("darwin", {}, "~/Library/Application Support/caiclient/credentials.json"),
        ("win32", {"APPDATA": "/appdata"}, "/appdata/caiclient/credentials.json"),
        ("win32", {}, "~/AppData/Roaming/caiclient/credentials.json"),
    ],
)
def test_the_platform_config_directory(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: Dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("CAI_CONFIG")
    for name in ("XDG_CONFIG_HOME", "APPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(credentials.sys, "platform", platform)
    assert credentials.config_path() == Path(expected).expanduser()
