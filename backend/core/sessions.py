"""Server-side sessions for staff: stored only once there is something to keep, never under a client's id.

Against session fixation the id is always made by the server: a session cookie whose id the store does
not know is ignored (it never becomes the id of a new session), and a new id replaces the old one
whenever the privileges in the session change (login, logout, another account or municipality).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

# Session entries that say who the session speaks for; a change in any of them is a privilege change.
PRIVILEGE_KEYS = ("uid", "tid", "role")

# Where the backend notes, per request, the id the store knew and the privileges it was loaded with.
_KNOWN_ID = "rathaus.session_id"
_LOADED_PRIVILEGES = "rathaus.session_privileges"
_RENEW = "rathaus.session_renew"
_NEW_ID = "rathaus.session_new_id"


def session_key_hash(session_id: str) -> str:
    """What the database may know of a session id: its hash (the id itself is the bearer's secret)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def renew_session(connection: ASGIConnection[Any, Any, Any, Any], data: dict[str, Any]) -> str:
    """Replace the session with ``data`` under a new id, whatever changed (e.g. at login).

    The new id is made here, so that the session can carry the hash of its own id (``sid``): the list of a
    person's sessions names them by it, and ending one there ends it wherever it is used. Returns the hash.
    """
    new_id = secrets.token_hex(32)
    connection.scope[_RENEW] = True  # type: ignore[literal-required]
    connection.scope[_NEW_ID] = new_id  # type: ignore[literal-required]
    sid = session_key_hash(new_id)
    connection.set_session({**data, "sid": sid})
    return sid


def _privileges(data: Any) -> tuple[Any, ...]:
    return tuple(data.get(k) for k in PRIVILEGE_KEYS) if isinstance(data, dict) else ()


class StaffSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if session_id:
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                loaded = self.deserialize_data(data)
                connection.scope[_KNOWN_ID] = session_id  # type: ignore[literal-required]
                connection.scope[_LOADED_PRIVILEGES] = _privileges(loaded)  # type: ignore[literal-required]
                return loaded
        return {}

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        # Only an id the store knows is ever reused; anything else a client sends is ignored.
        known = connection.scope.get(_KNOWN_ID)
        return known if isinstance(known, str) else self.generate_session_id()

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        scope = connection.scope
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        known: str | None = scope.get(_KNOWN_ID)  # type: ignore[assignment]
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))

        if scope_session is Empty or not scope_session:
            if known is not None:
                await self.delete(known, store=store)
            # An empty session of a visitor without a session cookie is not written: without this every
            # anonymous page view would cost a row in the store and a Set-Cookie header.
            if self.config.key in connection.cookies:
                params.update(max_age=0, expires=0)
                headers.add("Set-Cookie", Cookie(value="", key=self.config.key, **params).to_header(header=""))
            return

        session_id = known
        if known is None or scope.get(_RENEW) or _privileges(scope_session) != scope.get(_LOADED_PRIVILEGES, ()):
            if known is not None:
                await self.delete(known, store=store)
            made = scope.get(_NEW_ID)
            session_id = made if isinstance(made, str) else self.generate_session_id()
        assert session_id is not None
        await self.set(session_id=session_id, data=self.serialize_data(scope_session, scope), store=store)
        headers.add("Set-Cookie", Cookie(value=session_id, key=self.config.key, **params).to_header(header=""))


class StaffSessionConfig(ServerSideSessionConfig):
    _backend_class = StaffSessionBackend  # type: ignore[assignment]
