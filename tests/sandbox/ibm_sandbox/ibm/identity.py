"""UAA and IAM tokens: issuing and checking them, shared by UAA, IAM, the Cloud Controller and
the registry token API.

Each kind of token is signed with its own key (from the seed), so an IAM token can never pass as
a UAA token, nor a refresh token as an access token. Issuers use the nominal Dedicated host names,
not the loopback ports, so tokens stay valid when a restart picks new ports.
"""

import time
import uuid

from .jwtutil import InvalidToken, decode_hs256, encode_hs256

UAA_SCOPES = ["cloud_controller.read", "cloud_controller.write", "openid", "password.write", "uaa.user"]
REFRESH_LIFETIME = 30 * 86400
IAM_LIFETIME = 3600


class Identity:
    def __init__(self, directory, store):
        self.directory = directory
        self.store = store
        self.uaa_issuer = f"https://uaa.{directory.domain}/oauth/token"
        self.iam_issuer = f"https://iam.{directory.domain}/identity"

    def _sign(self, kind, claims):
        return encode_hs256(claims, self.directory.keys[kind])

    def _user_from(self, kind, token):
        """The seed user a token of `kind` belongs to, or None when it is forged, expired or malformed."""
        if not token:
            return None
        try:
            claims = decode_hs256(token, self.directory.keys[kind])
        except InvalidToken:
            return None
        return self.directory.user(claims.get("user_name"))

    # -- UAA ----------------------------------------------------------------------------
    def uaa_tokens(self, user, grant_type):
        """Body of a successful UAA `/oauth/token` answer."""
        now = int(time.time())
        lifetime = self.store.config()["uaa_token_lifetime"]
        jti = uuid.uuid4().hex
        common = {
            "sub": user["guid"], "user_id": user["guid"], "user_name": user["username"], "email": user["username"],
            "origin": "uaa", "client_id": "cf", "cid": "cf", "azp": "cf", "grant_type": grant_type,
            "iat": now, "iss": self.uaa_issuer, "zid": "uaa",
        }
        access = self._sign("uaa_access", {
            "jti": jti, **common, "scope": UAA_SCOPES, "exp": now + lifetime,
            "aud": ["cloud_controller", "password", "cf", "uaa", "openid"],
        })
        refresh = self._sign("uaa_refresh", {"jti": jti + "-r", **common, "scope": UAA_SCOPES, "exp": now + REFRESH_LIFETIME})
        return {
            "access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": lifetime, "scope": " ".join(UAA_SCOPES), "jti": jti,
        }

    def uaa_user(self, access_token):
        return self._user_from("uaa_access", access_token)

    def uaa_refresh_user(self, refresh_token):
        return self._user_from("uaa_refresh", refresh_token)

    # -- IAM ----------------------------------------------------------------------------
    def iam_tokens(self, user, grant_type, with_uaa):
        """Body of a successful IAM `/identity/token` answer (`with_uaa`: response_type cloud_iam,uaa)."""
        now = int(time.time())
        claims = {
            "iam_id": user["iam_id"], "id": user["iam_id"], "realmid": "IBMid", "sub": user["username"],
            "sub_type": "UserID", "email": user["username"], "user_name": user["username"],
            "account": {"bss": self.directory.home_account(user)},
            "grant_type": grant_type, "scope": "ibm openid", "client_id": "bx", "iat": now, "iss": self.iam_issuer,
        }
        body = {
            "access_token": self._sign("iam_access", {**claims, "exp": now + IAM_LIFETIME}),
            "refresh_token": self._sign("iam_refresh", {**claims, "exp": now + REFRESH_LIFETIME, "jti": uuid.uuid4().hex}),
            "token_type": "Bearer", "expires_in": IAM_LIFETIME, "expiration": now + IAM_LIFETIME,
            "scope": "ibm openid", "ims_user_id": 4000000 + self.directory.users.index(user),
        }
        if with_uaa:
            # The linked Dedicated user gets a UAA token in the same answer.
            uaa = self.uaa_tokens(user, "iam_token")
            body.update(uaa_token=uaa["access_token"], uaa_refresh_token=uaa["refresh_token"])
        return body

    def iam_user(self, access_token):
        return self._user_from("iam_access", access_token)

    def iam_refresh_user(self, refresh_token):
        return self._user_from("iam_refresh", refresh_token)

    def iam_service_id_tokens(self, service_id):
        """Body of an API-key grant answer for a service-ID key: the subject is the service ID's iam_id.

        GUESS: no refresh token for service IDs (IAM sends the literal "not_supported" for some API-key grants)."""
        now = int(time.time())
        claims = {
            "iam_id": service_id["iam_id"], "id": service_id["iam_id"], "realmid": "iam", "sub": service_id["iam_id"],
            "sub_type": "ServiceId", "account": {"bss": service_id["account_id"]}, "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
            "scope": "ibm openid", "client_id": "default", "iat": now, "exp": now + IAM_LIFETIME, "iss": self.iam_issuer,
        }
        return {
            "access_token": self._sign("iam_access", claims), "refresh_token": "not_supported", "token_type": "Bearer",
            "expires_in": IAM_LIFETIME, "expiration": now + IAM_LIFETIME, "scope": "ibm openid",
        }

    def iam_claims(self, access_token):
        """Claims of a valid IAM access token (of a user or a service ID), or None."""
        if not access_token:
            return None
        try:
            return decode_hs256(access_token, self.directory.keys["iam_access"])
        except InvalidToken:
            return None
