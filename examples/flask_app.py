"""A web backend in front of caiclient: one Session for the whole process.

``POST /chat`` with JSON ``{"character_id": ..., "text": ..., "chat_id": ...}``
(``chat_id`` optional: a new chat is created without it) answers
``{"chat_id": ..., "reply": ...}``, or an error with a fitting HTTP status.

The core (:func:`chat_reply` and :func:`error_response`) knows nothing of
Flask, so it works the same under Django, FastAPI or a plain WSGI app; only
:func:`create_app` needs Flask (``pip install flask``).

Run as a script, it makes a few requests through Flask's test client (or
calls the core directly when Flask is not installed) and prints the results.
To serve it for real: ``flask --app examples/flask_app.py run``.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, Mapping, Tuple, Type

import caiclient
from caiclient import errors

# One Session per process, created at import and shared by every request thread:
# it is thread-safe, pools its HTTP connections and multiplexes one websocket.
# Short timeouts: a web request should not wait minutes for the service.
session = caiclient.Session.from_env(timeout=(5, 30), reply_timeout=60)

# caiclient error -> (HTTP status, short code for the JSON body). The most
# specific class wins (the lookup walks the exception's MRO).
ERROR_STATUS: Mapping[Type[BaseException], Tuple[int, str]] = {
    errors.ValidationError: (400, "invalid_request"),
    errors.BadRequest: (400, "invalid_request"),
    errors.ContentFiltered: (422, "content_filtered"),
    errors.NotFound: (404, "not_found"),
    errors.PermissionDenied: (403, "forbidden"),
    errors.Conflict: (409, "conflict"),
    errors.RateLimited: (429, "rate_limited"),
    errors.AuthRequiredError: (500, "server_misconfigured"),
    errors.AuthenticationError: (502, "upstream_auth_failed"),
    errors.BlockedError: (503, "upstream_blocked"),
    errors.ServerError: (502, "upstream_error"),
    errors.ActionFailed: (502, "upstream_refused"),
    errors.GenerationError: (502, "generation_failed"),
    errors.ParseError: (502, "upstream_unreadable"),
    errors.Timeout: (504, "upstream_timeout"),
    errors.NetworkError: (502, "upstream_unreachable"),
    errors.CaiError: (500, "internal_error"),
}


def error_response(exc: errors.CaiError) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    """The HTTP status, JSON body and headers for a caiclient error."""
    status, code = 500, "internal_error"
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            status, code = ERROR_STATUS[cls]
            break
    body: Dict[str, Any] = {"error": code, "detail": str(exc)}
    headers: Dict[str, str] = {}
    if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after + 0.999))
    if isinstance(exc, errors.ConnectionLost):
        # The message may or may not have reached the service: tell the caller
        # not to resend blindly.
        body["message_delivered"] = exc.message_delivered
    return status, body, headers


def chat_reply(payload: Any) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
    """Handle one ``/chat`` request body; returns (status, JSON body, headers)."""
    if not isinstance(payload, dict):
        return 400, {"error": "invalid_request", "detail": "send a JSON object"}, {}
    character_id = payload.get("character_id")
    text = payload.get("text")
    chat_id = payload.get("chat_id")
    try:
        if chat_id is None:
            session.characters.get(character_id)  # NotFound (404) for an unknown character
            chat, _ = session.chats.create(character_id, greeting=False)
            chat_id = chat.chat_id
        reply = session.chats.send(character_id, chat_id, text)
    except errors.CaiError as exc:
        return error_response(exc)
    return 200, {"chat_id": chat_id, "reply": reply.text, "filtered": reply.is_filtered}, {}


def create_app() -> Any:
    """The Flask app (Flask is imported here, so the core above works without it)."""
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/chat")
    def chat() -> Any:
        status, body, headers = chat_reply(request.get_json(silent=True))
        return jsonify(body), status, headers

    return app


def _demo_requests(character_id: str) -> list:
    return [
        {"character_id": character_id, "text": "Hello!"},
        {"character_id": character_id, "text": ""},  # rejected before sending: 400
        {"character_id": "no-such-character", "text": "Hi"},  # the service says 404
    ]


def main() -> int:
    if session.is_guest:
        print("set CAI_TOKEN first (see docs/token.rst)", file=sys.stderr)
        return 2
    character_id = session.characters.search("detective")[0].character_id
    try:
        app = create_app()
    except ImportError:
        app = None
        print("(Flask is not installed: calling the core function directly)")
    for body in _demo_requests(character_id):
        if app is not None:
            resp = app.test_client().post("/chat", json=body)
            status, result = resp.status_code, resp.get_json()
        else:
            status, result, _ = chat_reply(body)
        print(f"POST /chat {json.dumps(body)[:60]} -> {status} {json.dumps(result)[:160]}")
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
else:  # `flask --app examples/flask_app.py run` looks for `app`
    try:
        app = create_app()
    except ImportError:  # pragma: no cover - Flask not installed
        pass
