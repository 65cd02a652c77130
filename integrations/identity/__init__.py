"""Identity connectors (kind ``identity``): citizens and businesses log in with the national account.

* :class:`OidcClient` -- the OpenID Connect relying party used by the web app's login and
  callback views (authorization URL, code exchange, ID-token verification, userinfo,
  logout URL, introspection, revocation);
* :class:`VneidConnector` -- the same client registered as connector ``vneid`` so that it is
  configured, health-checked and listed like every other external system;
* :class:`~.simulator.IdentityProviderSimulator` -- a loopback OIDC provider with demo
  citizen and business accounts, for tests, ``make run`` and provinces' set-up checks.
"""

from .claims import ACCOUNT_TYPES, Identity, IdentityError, IdentityUnavailable, Tokens, identity_from_claims
from .oidc import OidcClient
from .vneid import VneidConnector

__all__ = [
    "ACCOUNT_TYPES",
    "Identity",
    "IdentityError",
    "IdentityUnavailable",
    "OidcClient",
    "Tokens",
    "VneidConnector",
    "identity_from_claims",
]
