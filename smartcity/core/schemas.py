"""Base request and response models: requests refuse unknown fields so a typo is an error, not a no-op."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Request(BaseModel):
    """Base of every request body: unknown fields are rejected with a 422 that names them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """A page of a listing with the total count, so clients can page on."""

    items: list[T]
    total: int | None = None
    limit: int
    offset: int
