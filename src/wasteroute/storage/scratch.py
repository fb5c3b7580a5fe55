"""Throw-away databases on the same server (a simulation run keeps its cities sealed in one of its own)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import psycopg

from wasteroute.config import normalise_database_url

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _plain(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://")


def database_url_for(server_url: str, name: str) -> str:
    """``server_url`` with its database replaced by ``name``."""
    parts = urlsplit(normalise_database_url(server_url))
    return urlunsplit(parts._replace(path="/" + name))


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` (dropping an older one of that name) and return its URL."""
    if not _NAME.match(name):
        raise ValueError(f"database name must be lowercase letters, digits and _, got {name!r}")
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"database name must be lowercase letters, digits and _, got {name!r}")
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
