"""The alerts tests reuse the sensing tests' stations (two Suzhou River stations made through the API)."""

from tests.sensing.conftest import stations

__all__ = ["stations"]
