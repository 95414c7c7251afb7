"""The rule for new staff passwords: long enough, typed the same twice, not one of the well-known ones."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from backend.core.i18n import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 1000  # argon2 hashes anything, but nobody needs more and it bounds the CPU spent
_COMMON = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, repeated: str) -> str | None:
    """Why this new password is refused (a sentence for the person), or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(count)s characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("The password is too long.")
    if password != repeated:
        return _("The two passwords are not the same.")
    if password.strip().lower() in common_passwords():
        return _("This password is too common and easy to guess. Please choose another one.")
    return None
