"""The exception hierarchy and the status -> exception table."""

from __future__ import annotations

import pytest

from caiclient import errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (422, errors.BadRequest),
        (429, errors.RateLimited),
        (500, errors.ServerError),
        (502, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.APIError),
    ],
)
def test_status_table(status: int, cls: type) -> None:
    assert errors.error_class_for_status(status) is cls


def test_every_error_is_a_cai_error() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.CaiError), name


def test_validation_error_is_a_value_error() -> None:
    err = errors.ValidationError("bad", field="name")
    assert isinstance(err, ValueError)
    assert err.field == "name"


def test_api_error_str_and_repr() -> None:
    err = errors.PermissionDenied(
        "nope", status=403, method="GET", path="/chat/user/", request_id="8a1b-FRA"
    )
    assert str(err) == "[403 GET /chat/user/] nope (request_id=8a1b-FRA)"
    assert "PermissionDenied(status=403" in repr(err)


def test_api_error_default_message_and_truncated_body() -> None:
    err = errors.ServerError(status=502, body="x" * 5000)
    assert err.message == errors.ServerError.default_message
    assert len(err.body) < 2100


def test_generation_errors() -> None:
    err = errors.GenerationError("busy", command="create_and_generate_turn", request_id="r1")
    assert str(err) == "[create_and_generate_turn] busy (request_id=r1)"
    filt = errors.ContentFiltered(kind="filter_user_input_self_harm")
    assert isinstance(filt, errors.GenerationError)
    assert "filter" in str(filt)


def test_rate_limited_keeps_retry_after() -> None:
    err = errors.RateLimited(retry_after=3.0, status=429)
    assert err.retry_after == 3.0
