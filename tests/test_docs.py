"""The documentation keeps up with the code it describes.

Cheap text checks (no Sphinx needed): every command and option of the CLI
and of the emulator appears in the docs, the migration guide names every
method of the libraries it covers, and every resource method is reachable
from the API reference. The full build (``sphinx-build -n -W``) runs in
``tox -e docs``; :func:`test_sphinx_build` runs it too when Sphinx is
installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterator, List

import pytest

from caiclient import cli
from caiclient.emulator import cli as emulator_cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

PAGES = [
    "index", "quickstart", "token", "login", "chatting", "rooms", "async", "backends",
    "notebooks", "testing", "errors", "troubleshooting", "cli", "migrating", "api", "benchmarks",
]  # fmt: skip

# PyCharacterAI 2.2.50: the 64 public methods (account 19, character 10,
# chat 22, user 4, utils 9).
PYCHARACTERAI_2 = [
    "fetch_me",
    "fetch_my_settings",
    "fetch_my_followers",
    "fetch_my_following",
    "fetch_my_persona",
    "fetch_my_personas",
    "fetch_my_characters",
    "fetch_my_upvoted_characters",
    "fetch_my_voices",
    "edit_account",
    "create_persona",
    "edit_persona",
    "delete_persona",
    "set_default_persona",
    "unset_default_persona",
    "set_persona",
    "unset_persona",
    "set_voice",
    "unset_voice",
    "fetch_characters_by_category",
    "fetch_recommended_characters",
    "fetch_featured_characters",
    "fetch_similar_characters",
    "fetch_character_info",
    "search_characters",
    "search_creators",
    "character_vote",
    "create_character",
    "edit_character",
    "fetch_histories",
    "fetch_chats",
    "fetch_chat",
    "fetch_recent_chats",
    "fetch_messages",
    "fetch_all_messages",
    "fetch_pinned_messages",
    "fetch_all_pinned_messages",
    "fetch_following_messages",
    "update_chat_name",
    "archive_chat",
    "unarchive_chat",
    "copy_chat",
    "delete_messages",
    "delete_message",
    "create_chat",
    "update_primary_candidate",
    "send_message",
    "another_response",
    "edit_message",
    "pin_message",
    "unpin_message",
    "fetch_user",
    "fetch_user_voices",
    "follow_user",
    "unfollow_user",
    "ping",
    "fetch_voice",
    "search_voices",
    "generate_image",
    "upload_avatar",
    "upload_voice",
    "edit_voice",
    "delete_voice",
    "generate_speech",
]

# The older async "CharacterAI" client (PyCharacterAI 1.x).
PYCHARACTERAI_1 = [
    "authenticate_as_guest",
    "authenticate_with_token",
    "is_guest",
    "is_authenticated",
    "fetch_categories",
    "fetch_user_config",
    "fetch_user",
    "fetch_featured_characters",
    "fetch_characters_by_category",
    "fetch_character_info",
    "fetch_voices",
    "search_characters",
    "get_recent_conversations",
    "generate_image",
    "upload_image",
    "generate_voice",
    "create_chat",
    "continue_chat",
    "create_or_continue_chat",
]

# kramcat's CharacterAI (as documented: user, post, character, chat, chat2).
KRAMCAT = [
    "connect",
    "ping",
    "user.info",
    "user.get_profile",
    "user.followers",
    "user.following",
    "user.recent",
    "user.update",
    "post.get_post",
    "my_posts",
    "get_posts",
    "upvote",
    "undo_upvote",
    "send_comment",
    "delete_comment",
    "get_topics",
    "feed",
    "character.create",
    "character.update",
    "character.trending",
    "character.recommended",
    "character.categories",
    "character.info",
    "character.search",
    "character.voices",
    "chat.create_room",
    "chat.rate",
    "chat.next_message",
    "chat.get_histories",
    "chat.get_history",
    "chat.get_chat",
    "chat.send_message",
    "chat.delete_message",
    "chat.new_chat",
    "chat2.next_message",
    "chat2.send_message",
    "chat2.get_histories",
    "chat2.new_chat",
    "chat2.get_chat",
    "chat2.get_history",
    "chat2.rate",
    "chat2.delete_message",
]


def page(name: str) -> str:
    return (DOCS / f"{name}.rst").read_text(encoding="utf-8")


def test_method_lists_are_complete() -> None:
    assert len(PYCHARACTERAI_2) == len(set(PYCHARACTERAI_2)) == 64


def test_index_lists_every_page() -> None:
    index = page("index")
    assert ".. include:: ../README.rst" in index
    for name in PAGES[1:]:
        assert f"   {name}\n" in index, name


@pytest.mark.parametrize(
    "name",
    [p for p in PAGES if p != "benchmarks"],  # benchmarks.rst has another author
)
def test_page_exists(name: str) -> None:
    assert page(name).strip()


@pytest.mark.parametrize(
    "methods",
    [PYCHARACTERAI_2, PYCHARACTERAI_1, KRAMCAT],
    ids=["PyCharacterAI-2", "PyCharacterAI-1", "kramcat"],
)
def test_migration_guide_maps_every_method(methods: List[str]) -> None:
    text = page("migrating")
    missing = [m for m in methods if f"``{m}" not in text and f"{m}``" not in text]
    assert not missing


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def test_cli_page_documents_every_command_and_option() -> None:
    text = page("cli")
    parser = cli.build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    for sub in _subparsers(parser):
        for name, command in sub.choices.items():
            assert f"caiclient {name}" in text, name
            options |= {o for a in command._actions for o in a.option_strings}
    missing = sorted(o for o in options if o not in text)
    assert not missing


def test_cli_page_documents_every_exit_code() -> None:
    text = page("cli")
    for name in (
        "EXIT_OK",
        "EXIT_API",
        "EXIT_USAGE",
        "EXIT_AUTH",
        "EXIT_NETWORK",
        "EXIT_INTERRUPTED",
    ):
        assert f"\n{getattr(cli, name)} " in text, name


def test_testing_page_documents_every_emulator_option_and_fault() -> None:
    text = page("testing")
    parser = emulator_cli.build_parser()
    options = {o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")}
    missing = sorted(o for o in options if f"``{o}" not in text)
    assert not missing
    from caiclient.emulator import Faults

    faults = [
        n for n in vars(Faults) if not n.startswith(("_", "take_")) and n != "latency_seconds"
    ]
    assert not [f for f in faults if f"{f}(" not in text]


def test_api_reference_covers_every_resource() -> None:
    text = page("api")
    for module in (
        "account", "personas", "users", "characters", "chats", "rooms", "voices", "media",
    ):  # fmt: skip
        assert f".. autoclass:: caiclient.resources.{module}." in text
