"""Cloud Controller v2 (`api.<domain>`): `/v2/info` and the organizations a UAA user can see."""

import math
from urllib.parse import urlencode

from .web import Router, json_response

SEED_TIMESTAMP = "2017-06-01T09:00:00Z"


def cf_error(status, code, description, error_code):
    return json_response(status, {"code": code, "description": description, "error_code": error_code})


def _invalid_auth_token():
    return cf_error(401, 1000, "Invalid Auth Token", "CF-InvalidAuthToken")


class CloudController:
    name = "api"

    def __init__(self, directory, identity, endpoints):
        self.directory = directory
        self.identity = identity
        self.endpoints = endpoints
        self.router = Router(lambda request: cf_error(404, 10000, "Unknown request", "CF-NotFound"))
        self.router.add("GET", r"/v2/info", self.info)
        self.router.add("GET", r"/v2/organizations", self.list_organizations)
        self.router.add("GET", r"/v2/organizations/([^/]+)", self.get_organization)

    def handle(self, request):
        return self.router.dispatch(request)

    def info(self, request):
        domain = self.directory.domain
        return json_response(200, {
            "name": "Bluemix", "build": "sandbox", "support": f"https://support.{domain}", "version": 0,
            "description": "IBM Cloud Dedicated (sandbox)",
            "authorization_endpoint": self.endpoints["uaa"], "token_endpoint": self.endpoints["uaa"],
            "min_cli_version": None, "min_recommended_cli_version": None, "api_version": "2.75.0",
            "app_ssh_endpoint": f"ssh.{domain}:2222", "app_ssh_host_key_fingerprint": None, "app_ssh_oauth_client": "ssh-proxy",
            "logging_endpoint": f"wss://loggregator.{domain}:443", "doppler_logging_endpoint": f"wss://doppler.{domain}:443",
            "routing_endpoint": f"https://api.{domain}/routing", "allow_debug": True,
        })

    def _user(self, request):
        """(user, error response): CF-NotAuthenticated without a token, CF-InvalidAuthToken for a bad one."""
        if not request.headers.get("Authorization"):
            return None, cf_error(401, 10002, "Authentication error", "CF-NotAuthenticated")
        user = self.identity.uaa_user(request.bearer())
        return (user, None) if user else (None, _invalid_auth_token())

    def _resource(self, org):
        guid = org["guid"]
        url = f"/v2/organizations/{guid}"
        entity = {
            "name": org["name"], "billing_enabled": False, "quota_definition_guid": "b7887f5c-34bb-40c5-9778-577572e4fb2d",
            "status": "active", "quota_definition_url": "/v2/quota_definitions/b7887f5c-34bb-40c5-9778-577572e4fb2d",
        }
        for part in ("spaces", "domains", "private_domains", "users", "managers", "billing_managers", "auditors", "app_events",
                     "space_quota_definitions"):
            entity[f"{part}_url"] = f"{url}/{part}"
        return {"metadata": {"guid": guid, "url": url, "created_at": SEED_TIMESTAMP, "updated_at": SEED_TIMESTAMP}, "entity": entity}

    def _visible_orgs(self, user):
        guids = self.directory.org_guids_of(user)
        return [org for org in self.directory.orgs if org["guid"] in guids]

    def list_organizations(self, request):
        user, error = self._user(request)
        if error:
            return error
        orgs = self._visible_orgs(user)
        for flt in request.query.get("q", []):
            field, _, value = flt.partition(":")
            if field != "name":
                return cf_error(400, 10005, f"The query parameter is invalid: {flt}", "CF-BadQueryParameter")
            orgs = [org for org in orgs if org["name"] == value]  # CC matches names exactly
        try:
            per_page = min(max(int(request.arg("results-per-page", 50)), 1), 100)
            page = max(int(request.arg("page", 1)), 1)
        except ValueError:
            return cf_error(400, 1001, "Request invalid due to parse error", "CF-MessageParseError")
        pages = max(math.ceil(len(orgs) / per_page), 1)

        def page_url(number):
            params = [("order-direction", "asc"), ("page", number), ("results-per-page", per_page)]
            params += [("q", flt) for flt in request.query.get("q", [])]
            return "/v2/organizations?" + urlencode(params)

        return json_response(200, {
            "total_results": len(orgs), "total_pages": pages,
            "prev_url": page_url(page - 1) if page > 1 else None,
            "next_url": page_url(page + 1) if page < pages else None,
            "resources": [self._resource(org) for org in orgs[(page - 1) * per_page: page * per_page]],
        })

    def get_organization(self, request, guid):
        user, error = self._user(request)
        if error:
            return error
        org = self.directory.org(guid)
        if org is None:
            return cf_error(404, 30003, f"The organization could not be found: {guid}", "CF-OrganizationNotFound")
        if org not in self._visible_orgs(user):
            return cf_error(403, 10003, "You are not authorized to perform the requested action", "CF-NotAuthorized")
        return json_response(200, self._resource(org))
