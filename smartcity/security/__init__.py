"""Users, departments, roles, logins, tokens and API keys; the one permission check every route uses."""

from smartcity.security.permissions import Principal, public, readable, require, signed_in
from smartcity.security.roles import ROLES, Role, grant

__all__ = ["ROLES", "Principal", "Role", "grant", "public", "readable", "require", "signed_in"]
