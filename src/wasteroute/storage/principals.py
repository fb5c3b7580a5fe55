"""API principals (people and gateways) and their keys. Keys are stored as HMAC-SHA256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasteroute.storage.models import Principal

KEY_PREFIX = "wr"


def _digest(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    principal_id: int
    key: str
    """Shown once; only its digest is stored."""


class PrincipalRepository:
    def __init__(self, session: Session, pepper: str) -> None:
        self.session = session
        self.pepper = pepper

    def get(self, principal_id: int) -> Principal | None:
        return self.session.get(Principal, principal_id)

    def create(self, *, city_id: int, name: str, role: str, vehicle_id: int | None = None) -> IssuedKey:
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        p = Principal(
            city_id=city_id,
            name=name,
            role=role,
            vehicle_id=vehicle_id,
            key_prefix=prefix,
            key_hash=_digest(secret, self.pepper),
        )
        self.session.add(p)
        self.session.flush()
        return IssuedKey(p.id, f"{KEY_PREFIX}_{prefix}_{secret}")

    @staticmethod
    def split_key(key: str) -> tuple[str, str] | None:
        """(prefix, secret) of a well-formed key ``wr_<prefix>_<secret>``, else None."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]

    @staticmethod
    def secret_matches(key_hash: str, secret: str, pepper: str) -> bool:
        """Constant-time check of a key's secret against the stored digest."""
        return hmac.compare_digest(key_hash, _digest(secret, pepper))

    def authenticate(self, key: str) -> Principal | None:
        """The enabled principal holding ``key``, or None (malformed, unknown, wrong or disabled)."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        p = self.session.scalars(select(Principal).where(Principal.key_prefix == parts[1])).first()
        if p is None or p.disabled:
            return None
        if not hmac.compare_digest(p.key_hash, _digest(parts[2], self.pepper)):
            return None
        return p
