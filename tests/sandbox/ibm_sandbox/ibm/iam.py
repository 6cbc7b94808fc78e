"""The IAM host: the token endpoint (`POST /identity/token`, enough for `bx login` and API-key logins of users
and service IDs), IAM Identity (iam_identity.py) and IAM Policy Management (iam_policy.py)."""

import time
import uuid

from .web import Router, json_response

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
PASSCODE_GRANT = "urn:ibm:params:oauth:grant-type:passcode"


def iam_error(status, code, message):
    now = int(time.time() * 1000)
    return json_response(status, {
        "errorCode": code, "errorMessage": message,
        "context": {"requestId": uuid.uuid4().hex, "requestType": "incoming.OIDC_Token", "startTime": str(now), "endTime": str(now)},
    })


class IAM:
    name = "iam"

    def __init__(self, directory, identity, store, iam_identity, iam_policy):
        self.directory = directory
        self.identity = identity
        self.store = store
        self.iam_identity = iam_identity
        self.router = Router(lambda request: iam_error(404, "BXNIM0100E", "Not found"))
        self.router.add("POST", r"/identity/token", self.token)
        iam_identity.add_routes(self.router)
        iam_policy.add_routes(self.router)

    def handle(self, request):
        return self.router.dispatch(request)

    def token(self, request):
        form = request.form()
        grant = form.get("grant_type")
        if grant == APIKEY_GRANT:
            kind, subject = self.iam_identity.login(form.get("apikey"))
            if kind is None:
                # GUESS: a disabled or expired key gets the same answer as an unknown one.
                return iam_error(400, "BXNIM0415E", "Provided API key could not be found")
            if kind == "serviceid":
                return json_response(200, self.identity.iam_service_id_tokens(subject))
            user = subject
        elif grant == "password":
            user = self.directory.check_password(form.get("username"), form.get("password"))
            if user is None:
                # GUESS: IAM's code for wrong user credentials is not in the sources.
                return iam_error(400, "BXNIM0602E", "The credentials you entered for the user are incorrect.")
        elif grant == PASSCODE_GRANT:
            user = self.directory.user(self.store.use_passcode(form.get("passcode")))
            if user is None:
                return iam_error(400, "BXNIM0407E", "Provided passcode is invalid or has expired.")
        elif grant == "refresh_token":
            user = self.identity.iam_refresh_user(form.get("refresh_token"))
            if user is None:
                return iam_error(400, "BXNIM0407E", "Provided refresh token is invalid.")
        else:
            # GUESS: code for a missing or unsupported grant type.
            return iam_error(400, "BXNIM0104E", f"Unsupported grant type: {grant}")
        response_types = {part.strip() for part in form.get("response_type", "cloud_iam").split(",")}
        with_uaa = "uaa" in response_types and form.get("uaa_client_id") == "cf"
        return json_response(200, self.identity.iam_tokens(user, grant, with_uaa))
