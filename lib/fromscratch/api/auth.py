"""Authentication (who is calling?) and the authorization plug point (may they?).

Models two kube-apiserver stages that run before anything else:

- **authentication** with bearer tokens (``Authorization: Bearer <token>``):
  static tokens, as ``--token-auth-file`` reads them (CSV lines
  ``token,user,uid,"group1,group2"``), and *ServiceAccount tokens*: JSON Web
  Tokens the server signs itself (the ``TokenRequest`` API,
  ``POST …/serviceaccounts/<name>/token``), with the claims real clusters
  put in them (``sub: system:serviceaccount:<ns>:<name>``, ``kubernetes.io``).
  A ServiceAccount token is only valid while its ServiceAccount exists with
  the same uid.  No valid token: ``401 Unauthorized``;
- **authorization**: a function from request attributes to allow/deny.  The
  default allows everything; the RBAC chapter plugs an RBAC authorizer in.
  Denied: ``403 Forbidden``.

Tokens are signed with ES256 (an EC P-256 key pair, see ``certs.py``), which
kube-apiserver supports alongside its default RS256.
Simplified: no OIDC discovery endpoints to verify tokens elsewhere, no client
certificates and no anonymous access.
"""

from __future__ import annotations

import csv
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fromscratch.api import errors

ISSUER = "https://kubernetes.default.svc.cluster.local"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    """Who made a request, as authentication found out."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Attributes:
    """What authorization decides on (kube-apiserver's ``authorizer.Attributes``)."""

    user: UserInfo
    verb: str
    is_resource_request: bool
    path: str
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


# returns (allowed, reason)
Authorizer = Callable[[Attributes], "tuple[bool, str]"]


def allow_all(attributes: Attributes) -> tuple[bool, str]:
    """The default authorizer: every authenticated request is allowed."""
    return True, ""


def forbidden_message(a: Attributes, reason: str = "") -> str:
    """The message kube-apiserver writes for a denied request."""
    if not a.is_resource_request:
        text = f'User "{a.user.name}" cannot {a.verb} path "{a.path}"'
        return f"forbidden: {text}" + (f": {reason}" if reason else "")
    what = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    # the subject names the group too ("deployments.apps"), as apimachinery's GroupResource does
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    subject = f'{qualified} "{a.name}"' if a.name else qualified
    text = (f'{subject} is forbidden: User "{a.user.name}" cannot {a.verb} resource "{what}" '
            f'in API group "{a.api_group}"')
    text += f' in the namespace "{a.namespace}"' if a.namespace else " at the cluster scope"
    return text + (f": {reason}" if reason else "")


def read_token_file(path: str | Path) -> dict[str, UserInfo]:
    """Parse a static token file: ``token,user,uid[,"group1,group2"]`` per line."""
    tokens: dict[str, UserInfo] = {}
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 3 or not row[0] or not row[1]:
                raise ValueError(f"{path}:{number}: expected token,user,uid[,groups]")
            groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
            tokens[row[0]] = UserInfo(name=row[1], uid=row[2], groups=groups)
    return tokens


class Authenticator:
    """Bearer-token authentication: static tokens and signed ServiceAccount tokens."""

    def __init__(self, tokens: dict[str, UserInfo] | None = None, *,
                 signing_key: bytes | None = None,
                 service_account_uid: Callable[[str, str], str | None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.tokens = dict(tokens or {})
        # a PEM private key; without one, a fresh EC P-256 key (tokens die with the server)
        if signing_key is None:
            signing_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
        self.signing_key = signing_key
        private = serialization.load_pem_private_key(signing_key, password=None)
        self.verify_key = private.public_key()
        # (namespace, name) -> uid of that ServiceAccount now, or None if it is gone
        self.service_account_uid = service_account_uid
        self.clock = clock

    def add_token(self, token: str, user: UserInfo) -> None:
        self.tokens[token] = user

    def authenticate(self, authorization: str | None) -> UserInfo:
        """The user behind an ``Authorization`` header, or ``401 Unauthorized``."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.unauthorized()
        for known, user in self.tokens.items():
            # constant-time comparison: no timing hints about valid tokens
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        user = self._service_account_user(token)
        if user is None:
            raise errors.unauthorized()
        return user

    def issue_service_account_token(self, namespace: str, name: str, uid: str, *,
                                    audiences: list[str] | None = None,
                                    expiration_seconds: int = 3600) -> tuple[str, float]:
        """Sign a token for ServiceAccount ``namespace/name``; returns (token, expiry time)."""
        now = int(self.clock())
        expires = now + expiration_seconds
        claims = {
            "iss": ISSUER,
            "sub": f"{SA_PREFIX}{namespace}:{name}",
            "aud": audiences or [ISSUER],
            "iat": now, "nbf": now, "exp": expires,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        }
        return jwt.encode(claims, self.signing_key, algorithm="ES256"), float(expires)

    def _service_account_user(self, token: str) -> UserInfo | None:
        try:
            claims = jwt.decode(token, self.verify_key, algorithms=["ES256"],
                                options={"verify_aud": False}, issuer=ISSUER,
                                leeway=0)
        except jwt.PyJWTError:
            return None
        info = claims.get("kubernetes.io") or {}
        namespace = info.get("namespace")
        account = info.get("serviceaccount") or {}
        if not namespace or not account.get("name"):
            return None
        if self.service_account_uid is not None:
            # a token outlives nothing: its ServiceAccount must still exist, with the same uid
            if self.service_account_uid(namespace, account["name"]) != account.get("uid"):
                return None
        return UserInfo(
            name=f"{SA_PREFIX}{namespace}:{account['name']}", uid=account.get("uid", ""),
            groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                    "system:authenticated"))
