"""What the double's three admin APIs share (`/v1/metadata`: `MetadataApi`, `/v2/query`: `SchemaApi`, `/v1/query`:
`QueryApi`): a request is an object tagged by its `type`, a bulk one holds a list of requests, and the server counts
the requests that change its state."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .engine import Engine
from .metadata import parse_failed


class AdminApi(ABC):
    #: The `type`s whose `args` are a list of requests.
    BULK_TYPES = frozenset({"bulk"})

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def is_write(cls, query: Any) -> bool:
        """Whether a request changes server state (for the double's write counter); a bulk one when any of its
        requests does."""
        if not isinstance(query, dict):
            return False
        if query.get("type") in cls.BULK_TYPES:
            return any(cls.is_write(q) for q in query.get("args") or [])
        return cls.writes(query)

    @classmethod
    @abstractmethod
    def writes(cls, query: dict[str, Any]) -> bool:
        """Whether one request, not a bulk one, changes server state."""

    @staticmethod
    def query_type(query: Any) -> str:
        """The request's `type`, or `parse-failed` as the server answers a body without one."""
        if not isinstance(query, dict) or not isinstance(query.get("type"), str):
            raise parse_failed('key "type" not found', "$")
        return query["type"]
