"""UAA / login server (`authorization_endpoint` and `token_endpoint` of `/v2/info`)."""

from .web import Router, json_response

CF_CLIENT = ("cf", "")


def uaa_error(status, error, description):
    return json_response(status, {"error": error, "error_description": description})


def _bad_credentials():
    return uaa_error(401, "unauthorized", "Bad credentials")


class UAA:
    name = "uaa"

    def __init__(self, directory, identity, store, endpoints):
        self.directory = directory
        self.identity = identity
        self.store = store
        self.endpoints = endpoints
        self.router = Router(lambda request: uaa_error(404, "not_found", "Not Found"))
        self.router.add("GET", r"/login", self.login_info)
        self.router.add("POST", r"/oauth/token", self.token)
        self.router.add("POST", r"/oauth/token/disconnect", self.disconnect)

    def handle(self, request):
        return self.router.dispatch(request)

    def login_info(self, request):
        base = self.endpoints["uaa"]
        return json_response(200, {
            "app": {"version": "4.7.0"}, "commit_id": "sandbox", "zone_name": "uaa",
            "prompts": {
                "username": ["text", "Email"], "password": ["password", "Password"],
                "passcode": ["password", f"One Time Code ( Get one at {base}/passcode )"],
            },
            "links": {"uaa": base, "passwd": f"{base}/forgot_password", "login": base, "register": f"{base}/create_account"},
        })

    def token(self, request):
        form = request.form()
        client = request.basic() or (form.get("client_id"), form.get("client_secret", ""))
        if client != CF_CLIENT:
            return _bad_credentials()  # UAA answers a wrong client like a wrong password
        grant = form.get("grant_type")
        if not grant:
            return uaa_error(400, "invalid_request", "Missing grant type")
        if grant == "password":
            user = self._password_grant_user(form)
            if user is None:
                return _bad_credentials()
        elif grant == "refresh_token":
            user = self.identity.uaa_refresh_user(form.get("refresh_token"))
            if user is None:
                return uaa_error(401, "invalid_token", "Invalid refresh token (expired or revoked)")
        elif grant == "iam_token":
            user = self.identity.iam_user(form.get("iam_token"))
            if user is None:
                return uaa_error(401, "invalid_token", "The IAM token is invalid or expired")
        else:
            return uaa_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
        # `connect_to_iam_token` links the Dedicated user to an IBMid; the seed users are linked already,
        # so the sandbox only checks that the IAM token is genuine.
        if "connect_to_iam_token" in form and self.identity.iam_user(form["connect_to_iam_token"]) is None:
            return uaa_error(401, "invalid_token", "The IAM token is invalid or expired")
        return json_response(200, self.identity.uaa_tokens(user, grant))

    def _password_grant_user(self, form):
        if "passcode" in form:
            return self.directory.user(self.store.use_passcode(form["passcode"]))
        if form.get("username") == "apikey":
            return self.directory.user_by_apikey(form.get("password"))
        return self.directory.check_password(form.get("username"), form.get("password"))

    def disconnect(self, request):
        if self.identity.uaa_user(request.bearer()) is None:
            return uaa_error(401, "invalid_token", "Invalid access token")
        return json_response(200, {})
