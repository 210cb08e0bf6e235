"""Stored logins: the token ``caiclient login`` saved, per profile and per service.

One JSON file per user, in the platform's config directory:

* Linux and other Unix: ``$XDG_CONFIG_HOME/caiclient/credentials.json``
  (``~/.config/caiclient/credentials.json`` when ``XDG_CONFIG_HOME`` is unset);
* macOS: ``~/Library/Application Support/caiclient/credentials.json``;
* Windows: ``%APPDATA%\\caiclient\\credentials.json``.

``CAI_CONFIG`` names another file. The file is created with mode 0600 (its
directory 0700) and replaced atomically on every change (a new file renamed
over the old one, under an advisory lock on ``credentials.json.lock`` so two
``caiclient login`` runs do not lose each other's change); a file that is not
valid raises :class:`CredentialsError` and is never overwritten.

Each *profile* (``default`` unless ``--profile NAME`` / ``CAI_PROFILE``)
holds one login per service: the token issued by the real service is kept
apart from tokens issued by an emulator, so a token is only ever sent to the
hosts that issued it. When the optional ``keyring`` package is installed and
has a working backend (``pip install 'caiclient[keyring]'``), the token goes
to the OS keyring and the file keeps only who it belongs to; ``CAI_KEYRING=0``
keeps everything in the file.

The directory lookup is a few lines written here rather than a dependency
(``platformdirs``): three rules, no other need for it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import stat
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import attrs

from caiclient import errors
from caiclient.endpoints import Endpoints

__all__ = [
    "CONFIG_ENV",
    "KEYRING_ENV",
    "PROFILE_ENV",
    "CredentialStore",
    "CredentialsError",
    "StoredLogin",
    "config_path",
    "default_profile",
    "stored_token",
    "target_of",
]

log = logging.getLogger("caiclient.credentials")

CONFIG_ENV = "CAI_CONFIG"
"""Environment variable naming the credentials file (instead of the platform's default)."""
PROFILE_ENV = "CAI_PROFILE"
"""Environment variable naming the profile to use (default ``default``)."""
KEYRING_ENV = "CAI_KEYRING"
"""Set to ``0`` to keep tokens in the file even when ``keyring`` is installed."""

KEYRING_SERVICE = "caiclient"
_VERSION = 1
_LOCK_TIMEOUT = 10.0


class CredentialsError(errors.CaiError):
    """The credentials file (or the OS keyring) cannot be used.

    ``path`` is the file. The message says what is wrong and what to do; it
    never contains the file's content (which holds secrets).
    """

    def __init__(self, message: str, *, path: Optional[Path] = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@attrs.frozen(repr=False)
class StoredLogin:
    """One stored login: a token and who it belongs to (the repr hides the token).

    Attributes:
        profile: the profile name.
        target: the API host that issued the token (see :func:`target_of`).
        token: the API token.
        email: the address used to log in, if known.
        username: the account's username, if known.
        saved_at: when it was stored (ISO 8601, UTC).
        in_keyring: whether the token lives in the OS keyring.
    """

    profile: str
    target: str
    token: str
    email: Optional[str] = None
    username: Optional[str] = None
    saved_at: Optional[str] = None
    in_keyring: bool = False

    def __repr__(self) -> str:
        return (
            f"StoredLogin(profile={self.profile!r}, target={self.target!r}, "
            f"email={self.email!r}, username={self.username!r}, token=<set>)"
        )


def target_of(endpoints: Optional[Endpoints]) -> str:
    """The key a stored token is filed under: the API host that checks it (``Endpoints.plus``)."""
    return (endpoints or Endpoints()).plus


def default_profile() -> str:
    """The profile in use: ``$CAI_PROFILE``, else ``default``."""
    return os.environ.get(PROFILE_ENV, "").strip() or "default"


def config_dir() -> Path:
    """The platform's per-user config directory (not ours inside it)."""
    home = Path.home()
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) if appdata else home / "AppData" / "Roaming"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if os.path.isabs(xdg) else home / ".config"


def config_path() -> Path:
    """The credentials file: ``$CAI_CONFIG``, else ``<config dir>/caiclient/credentials.json``."""
    override = os.environ.get(CONFIG_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return config_dir() / "caiclient" / "credentials.json"


def _check_profile(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.ValidationError("profile must be a non-empty string", field="profile")
    name = name.strip()
    if len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise errors.ValidationError(
            "profile must be at most 64 printable characters without spaces", field="profile"
        )
    return name


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


class _Keyring:
    """The optional ``keyring`` package, if installed, enabled and backed by a real store."""

    def __init__(self, module: Any) -> None:
        self.module = module

    @classmethod
    def find(cls) -> Optional[_Keyring]:
        if os.environ.get(KEYRING_ENV, "").strip().lower() in ("0", "no", "false", "off"):
            return None
        try:
            import keyring
        except ImportError:
            return None
        try:
            backend = keyring.get_keyring()
        except Exception:  # a broken keyring configuration: use the file
            return None
        if getattr(backend, "priority", 1) <= 0:  # keyring's "fail" / null backends
            return None
        return cls(keyring)

    def set(self, key: str, token: str) -> bool:
        try:
            self.module.set_password(KEYRING_SERVICE, key, token)
        except Exception as exc:
            log.debug("the OS keyring refused the token (%s); keeping it in the file", type(exc))
            return False
        return True

    def get(self, key: str) -> Optional[str]:
        value = self.module.get_password(KEYRING_SERVICE, key)
        return value if isinstance(value, str) and value else None

    def delete(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.module.delete_password(KEYRING_SERVICE, key)


class CredentialStore:
    """The stored logins (see the module's documentation for where and how).

    Args:
        path: the file (default: :func:`config_path`).
        use_keyring: ``None`` (default) uses the OS keyring when the optional
            ``keyring`` package is installed with a working backend;
            ``False`` keeps tokens in the file.
    """

    def __init__(self, path: Optional[Path] = None, *, use_keyring: Optional[bool] = None) -> None:
        self.path = Path(path) if path is not None else config_path()
        self._keyring = None if use_keyring is False else _Keyring.find()

    # -------------------------------------------------------------- reading

    def _read(self) -> Dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"version": _VERSION, "profiles": {}}
        except OSError as exc:
            raise CredentialsError(
                f"cannot read {self.path}: {exc.strerror or 'unreadable'}", path=self.path
            ) from None
        self._warn_if_open()
        reason: Optional[str]
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            reason = "it is not UTF-8 text"
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
        else:
            reason = self._shape_problem(data)
            if reason is None:
                return dict(data)
        raise CredentialsError(
            f"{self.path} is not a valid caiclient credentials file: {reason}. It was left "
            "as it is: fix it, or move it away and run `caiclient login` again",
            path=self.path,
        )

    @staticmethod
    def _shape_problem(data: Any) -> Optional[str]:
        if not isinstance(data, dict):
            return "the top level is not an object"
        if data.get("version") != _VERSION:
            return f"unknown version {data.get('version')!r} (this caiclient reads {_VERSION})"
        profiles = data.get("profiles")
        if not isinstance(profiles, dict):
            return "'profiles' is not an object"
        for name, logins in profiles.items():
            if not isinstance(logins, dict):
                return f"profile {name!r} is not an object"
            for target, entry in logins.items():
                if not isinstance(entry, dict):
                    return f"profile {name!r}, {target!r} is not an object"
                has_token = isinstance(entry.get("token"), str) and entry["token"]
                has_ref = isinstance(entry.get("keyring"), str) and entry["keyring"]
                if not (has_token or has_ref):
                    return f"profile {name!r}, {target!r} holds no token"
        return None

    def _warn_if_open(self) -> None:
        if os.name != "posix":
            return
        with contextlib.suppress(OSError):
            mode = self.path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning(
                    "%s can be read by other users (mode %o): run chmod 600 on it",
                    self.path,
                    stat.S_IMODE(mode),
                )

    # -------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles of several processes (bounded wait)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(str(lock_path), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no advisory locks
                yield
                return
            deadline = time.monotonic() + _LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CredentialsError(
                            f"{self.path} is locked by another caiclient process", path=self.path
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _write(self, data: Dict[str, Any]) -> None:
        """Replace the file atomically with a new one created with mode 0600."""
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=str(directory))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                if os.name == "posix":
                    os.fchmod(f.fileno(), 0o600)
                json.dump(data, f, indent=2, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # -------------------------------------------------------------- the API

    def load(
        self, profile: Optional[str] = None, target: Optional[str] = None
    ) -> Optional[StoredLogin]:
        """The stored login of ``profile`` for ``target`` (default: the real service), or None.

        Raises :class:`CredentialsError` when the file is not valid, or the
        token is in the OS keyring and the keyring cannot give it back.
        """
        profile = _check_profile(profile or default_profile())
        target = target or target_of(None)
        entry = self._read()["profiles"].get(profile, {}).get(target)
        if entry is None:
            return None
        token = entry.get("token")
        in_keyring = False
        if not token:
            ref = entry["keyring"]
            kr = self._keyring or _Keyring.find()
            try:
                token = kr.get(ref) if kr is not None else None
            except Exception as exc:
                raise CredentialsError(
                    f"the token of profile {profile!r} is in the OS keyring, which failed "
                    f"({type(exc).__name__}); run `caiclient login` again",
                    path=self.path,
                ) from None
            if not token:
                raise CredentialsError(
                    f"the token of profile {profile!r} is in the OS keyring, but the keyring "
                    "has no such entry (or is not available); run `caiclient login` again",
                    path=self.path,
                )
            in_keyring = True
        return StoredLogin(
            profile=profile,
            target=target,
            token=token,
            email=entry.get("email") if isinstance(entry.get("email"), str) else None,
            username=entry.get("username") if isinstance(entry.get("username"), str) else None,
            saved_at=entry.get("saved_at") if isinstance(entry.get("saved_at"), str) else None,
            in_keyring=in_keyring,
        )

    def save(
        self,
        token: str,
        *,
        profile: Optional[str] = None,
        target: Optional[str] = None,
        email: Optional[str] = None,
        username: Optional[str] = None,
    ) -> StoredLogin:
        """Store ``token`` for ``profile`` and ``target`` (replacing what was there).

        The token goes to the OS keyring when one is available, else into the
        file (mode 0600). A file that is not valid is left untouched and
        raises :class:`CredentialsError`.
        """
        if not isinstance(token, str) or not token.strip():
            raise errors.ValidationError("token must be a non-empty string", field="token")
        profile = _check_profile(profile or default_profile())
        target = target or target_of(None)
        with self._locked():
            data = self._read()
            logins = data["profiles"].setdefault(profile, {})
            old = logins.get(target) or {}
            entry: Dict[str, Any] = {"saved_at": _now()}
            if email:
                entry["email"] = email
            if username:
                entry["username"] = username
            ref = old.get("keyring") or uuid.uuid4().hex
            if self._keyring is not None and self._keyring.set(ref, token):
                entry["keyring"] = ref
            else:
                entry["token"] = token
                if old.get("keyring") and self._keyring is not None:
                    self._keyring.delete(old["keyring"])
            logins[target] = entry
            self._write(data)
        return StoredLogin(
            profile=profile,
            target=target,
            token=token,
            email=email,
            username=username,
            saved_at=entry["saved_at"],
            in_keyring="keyring" in entry,
        )

    def delete(self, profile: Optional[str] = None, target: Optional[str] = None) -> bool:
        """Forget the login of ``profile`` for ``target``; False if there was none."""
        profile = _check_profile(profile or default_profile())
        target = target or target_of(None)
        if not self.path.exists():
            return False
        with self._locked():
            data = self._read()
            logins = data["profiles"].get(profile, {})
            entry = logins.pop(target, None)
            if entry is None:
                return False
            if not logins:
                del data["profiles"][profile]
            self._write(data)
        ref = entry.get("keyring")
        if ref:
            kr = self._keyring or _Keyring.find()
            if kr is not None:
                kr.delete(ref)
        return True

    def profiles(self) -> Dict[str, List[str]]:
        """Every profile and the targets it has a login for."""
        return {name: sorted(logins) for name, logins in self._read()["profiles"].items()}


def stored_token(
    endpoints: Optional[Endpoints] = None, profile: Optional[str] = None
) -> Optional[str]:
    """The token ``caiclient login`` stored for these endpoints and profile, or None.

    What :meth:`caiclient.Session.from_env` falls back to when ``CAI_TOKEN``
    is unset.
    """
    login = CredentialStore().load(profile, target_of(endpoints))
    return login.token if login is not None else None
