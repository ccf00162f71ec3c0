"""Smart-city operations platform: one modular monolith for the systems of Shanghai's 2011–2013 plan."""

__version__ = "0.1.0"
