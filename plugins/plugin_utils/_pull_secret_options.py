# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of the pull_secret role: read the role's argument spec, convert the values exactly as module options are
converted (``-e x=false`` is ``False``, ``-e ns=a,b`` is ``[a, b]``), check them, and derive the values the role uses.

Pure Python (no Ansible runtime objects), so that every rule has a unit test. The action plugin
``ibm_dedicated.registry.pull_secret_options`` templates the variables and calls :func:`convert`, :func:`check` and
:func:`derive`. No message made here ever contains the value of a secret option (:data:`SECRET_OPTIONS`).
"""

import json
import os
import re
from urllib.parse import urlsplit

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.ibm_dedicated.registry.plugins.module_utils._errors import IBMDedicatedError
from ansible_collections.ibm_dedicated.registry.plugins.module_utils._iam import validate_namespaces

PREFIX = "pull_secret_"

# Never in a message, nor in the fact that derive() makes.
SECRET_OPTIONS = ("pull_secret_password", "pull_secret_apikey", "pull_secret_passcode", "pull_secret_oauth_token")

# What ArgumentSpecValidator needs of an option; the rest of argument_specs.yml (description, version_added, ...) is
# documentation.
SPEC_KEYS = ("type", "elements", "choices", "default", "required", "no_log", "options")

# Smallest value of every `type: int` option (a unit test checks that every int option of the spec is listed).
INT_MINIMUMS = {"pull_secret_pod_wait_timeout": 1, "pull_secret_apikey_lifetime_days": 0, "pull_secret_apikey_rotate_before_days": 0}

# Environment variables the modules read when a credential variable is unset.
APIKEY_ENV = ("IBMCLOUD_API_KEY", "IC_API_KEY")
CREDENTIAL_TYPES = ("token", "service_id", "iamapikey")
# IAM's limits are not all documented; these are what the console accepts (GUESS, see ../shared/reference/ibm-iam-api.md).
_SERVICE_ID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
PASSCODE_ENV = "IBMCLOUD_DEDICATED_PASSCODE"
REFRESH_TOKEN_ENV = "IBMCLOUD_DEDICATED_REFRESH_TOKEN"
OAUTH_TOKEN_ENV = "IBMCLOUD_DEDICATED_OAUTH_TOKEN"

REDACTED = "********"
# Secrets shorter than this are redacted only where they are not part of a longer word.
SHORT_SECRET = 6

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DOMAIN = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+")
_URL = re.compile(r"https?://[^/\s]+")
_LOCAL_HOST = re.compile(r"[0-9.]+|localhost")  # and IPv6 addresses (a ":" in the host)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_IMAGE_PATH = re.compile(r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?")


class SpecError(Exception):
    """The argument spec file cannot be used."""


# --- the spec ---------------------------------------------------------------------------------------------------------

def _option_spec(name, option):
    if not isinstance(option, dict):
        raise SpecError("option %s of the argument spec is not a mapping" % name)
    spec = {key: option[key] for key in SPEC_KEYS if key in option}
    if isinstance(spec.get("options"), dict):
        spec["options"] = {sub: _option_spec(sub, value) for sub, value in spec["options"].items()}
    if name in SECRET_OPTIONS:
        spec["no_log"] = True
    return spec


def spec_from_document(document, entry_point="main"):
    """The argument_spec (for ArgumentSpecValidator) of ``entry_point`` in a parsed meta/argument_specs.yml."""
    entries = (document or {}).get("argument_specs") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not isinstance(entries.get(entry_point), dict):
        raise SpecError("no argument_specs.%s entry" % entry_point)
    options = entries[entry_point].get("options") or {}
    if not isinstance(options, dict):
        raise SpecError("argument_specs.%s.options is not a mapping" % entry_point)
    return {name: _option_spec(name, option) for name, option in options.items()}


def load_spec(path, entry_point="main"):
    """Read a role's meta/argument_specs.yml and return the argument_spec of its ``main`` entry point: every option with
    only the keys ArgumentSpecValidator uses (:data:`SPEC_KEYS`); the secret options are always ``no_log``."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as e:
        raise SpecError("cannot read the argument spec %s: %s" % (path, e)) from e
    try:
        return spec_from_document(document, entry_point)
    except SpecError as e:
        raise SpecError("%s: %s" % (path, e)) from e


# --- conversion -------------------------------------------------------------------------------------------------------

def secret_strings(values, extra=()):
    """The strings to keep out of any message: the values of the secret options, as given, and as they look quoted."""
    found = set()
    for value in [values.get(name) for name in SECRET_OPTIONS] + list(extra):
        if value is None or isinstance(value, bool) or value == "":
            continue
        text = value if isinstance(value, str) else str(value)
        found.add(text)
        found.add(repr(text)[1:-1])
        found.add(json.dumps(text)[1:-1])
    found.discard("")
    return found


def redact(text, secrets):
    """``text`` with every string of ``secrets`` (longest first) replaced by ``********``: everywhere for a secret of
    :data:`SHORT_SECRET` characters or more, and where it is not part of a longer word for a shorter one (so that an
    API key ``k`` in a test does not turn "tokens" into "to********ens")."""
    text = str(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if not secret:
            continue
        if len(secret) >= SHORT_SECRET:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(secret), REDACTED, text)
    return text


def convert(spec, raw_values):
    """Validate and convert ``raw_values`` (option name -> value; names not in ``spec`` are ignored) with ansible-core's
    ArgumentSpecValidator, exactly as module options are converted, and fill in the defaults of the spec.

    Returns ``(values, errors)``: the converted values (meaningful only when there is no error) and the error messages,
    with the value of every secret option replaced by ``********``.
    """
    spec = {name: (dict(option, no_log=True) if name in SECRET_OPTIONS else option) for name, option in spec.items()}
    params = {name: value for name, value in (raw_values or {}).items() if name in spec}
    result = ArgumentSpecValidator(spec).validate(params)
    secrets = secret_strings(params, extra=getattr(result, "_no_log_values", ()))
    errors = [redact(message, secrets) for message in result.error_messages]
    return result.validated_parameters, errors


# --- checks -----------------------------------------------------------------------------------------------------------

def _short(values):
    return {name[len(PREFIX):]: value for name, value in values.items() if name.startswith(PREFIX)}


def _text(value):
    return "" if value is None else str(value)


def _quote(value):
    return json.dumps(_text(value))


def _is_label(value):
    return isinstance(value, str) and _LABEL.fullmatch(value) is not None


def _is_subdomain(value):
    return isinstance(value, str) and 0 < len(value) <= 253 and _SUBDOMAIN.fullmatch(value) is not None


def _env_value(env, *names):
    for name in names:
        if (env or {}).get(name):
            return env[name]
    return ""


def registry_host(values):
    """``host[:port]`` of the registry: the netloc of pull_secret_registry_endpoint, else ``registry.<dedicated_domain>``
    (``""`` when neither is set)."""
    v = _short(values)
    endpoint = _text(v.get("registry_endpoint")).strip()
    if endpoint:
        return urlsplit(endpoint).netloc
    domain = _text(v.get("dedicated_domain")).strip()
    return "registry." + domain if domain else ""


def _same_host(a, b):
    def norm(host):
        host = host.lower()
        return host[:-4] if host.endswith(":443") else host
    return bool(a) and norm(a) == norm(b)


def split_image(image):
    """``(host, path)`` of an image reference: the first component is a host when the reference has a ``/`` and that
    component has a ``.`` or a ``:`` or is ``localhost`` (as docker reads references); else host is ``""``."""
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "", image


def image_path(values):
    """The Pod's image as a path inside the registry: pull_secret_pod_image, less a leading ``<registry host>/``."""
    image = _text(_short(values).get("pod_image")).strip()
    host, path = split_image(image)
    return path if host and _same_host(host, registry_host(values)) else image


def _image_problems(values):
    image = _text(_short(values).get("pod_image")).strip()
    name = "pull_secret_pod_image " + _quote(image)
    if not image:
        return [("pull_secret_pod_image is required while pull_secret_pod_enabled is true: the image path and tag inside "
                 "the registry, e.g. acme/hello:1.0")]
    if "://" in image or re.search(r"\s", image):
        return [name + " is not an image path such as acme/hello:1.0 (no scheme, no registry host, no spaces)"]
    host, path = split_image(image)
    ours = registry_host(values)
    if host and not _same_host(host, ours):
        if not ours:
            return [name + " is not an image path: it names the registry host %s; write the path inside the registry "
                    "with no registry host, e.g. pull_secret_pod_image: acme/hello:1.0" % host]
        example = path if _IMAGE_PATH.fullmatch(path) else "acme/hello:1.0"
        return [name + " is not an image path in %s: the Secret only authenticates to %s, so the Pod can only pull from "
                "there. Write the path inside that registry, with no registry host: pull_secret_pod_image: %s for an "
                "image at %s/%s" % (ours, ours, example, ours, example)]
    if not _IMAGE_PATH.fullmatch(path):
        return [name + " is not an image path such as acme/hello:1.0 (no scheme, no registry host, no spaces)"]
    return []


def _endpoint_problems(v):
    problems = []
    domain = _text(v.get("dedicated_domain"))
    for key in ("api_endpoint", "registry_endpoint"):
        url = _text(v.get(key))
        if not url:
            continue
        if not _URL.match(url):
            problems.append("pull_secret_%s %s is not a URL such as https://%s.<dedicated_domain>" % (key, _quote(url), key.split("_", 1)[0]))
            continue
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if host and domain and not (_LOCAL_HOST.fullmatch(host) or ":" in host) and not (host == domain.lower() or host.endswith("." + domain.lower())):
            problems.append("pull_secret_%s %s and pull_secret_dedicated_domain %s disagree: the endpoint is not in that domain. "
                            "Correct one of them, or leave pull_secret_dedicated_domain empty" % (key, _quote(url), _quote(domain)))
    return problems


def _credential_problems(v, env):
    problems = []
    kind = v.get("credential_type")
    tokens = kind == "token"
    if kind not in CREDENTIAL_TYPES:
        problems.append("pull_secret_credential_type must be token (a registry token), service_id (an IAM service ID's API key) "
                        "or iamapikey (your own IBM Cloud API key)")
    if not tokens and not has_apikey(v, env):
        problems.append("pull_secret_credential_type %s needs an API key: set pull_secret_apikey, or IBMCLOUD_API_KEY "
                        "(or IC_API_KEY) in the environment" % kind)
    if kind == "service_id":
        problems += _service_id_problems(v)
    if kind == "iamapikey" and v.get("rotate"):
        problems.append("pull_secret_rotate rotates registry tokens; rotate IBM Cloud API keys in IAM, then run the role to "
                        "update the Secrets")
    if tokens and v.get("apikey") and (v.get("password") or v.get("passcode")):
        problems.append("set only one credential: pull_secret_apikey, or pull_secret_username with pull_secret_password or "
                        "pull_secret_passcode, not both")
    return problems


def _service_id_problems(v):
    problems = []
    name = _text(v.get("service_id_name"))
    if name and (len(name) > 100 or not _SERVICE_ID_NAME.fullmatch(name)):
        problems.append("pull_secret_service_id_name %s is not a usable name: at most 100 letters, digits, \"-\", \"_\" and \".\""
                        % _quote(name))
    try:  # the rule iam_registry_policy applies, before anything changes
        validate_namespaces(registry_namespaces(v))
    except IBMDedicatedError as exc:
        problems.append("%s: correct pull_secret_registry_namespaces or the first part of pull_secret_pod_image" % exc)
    if v.get("migrate_revoke_tokens") and not _text(v.get("org")).strip():
        problems.append("pull_secret_migrate_revoke_tokens needs pull_secret_org: the organization whose registry tokens are revoked")
    if v.get("state", "present") == "present" and not registry_namespaces(v):  # audit and absent grant nothing
        problems.append("pull_secret_credential_type service_id needs the registry namespaces to grant: set "
                        "pull_secret_registry_namespaces, or pull_secret_pod_image (its first path segment)")
    lifetime, before = v.get("apikey_lifetime_days") or 0, v.get("apikey_rotate_before_days") or 0
    if lifetime and before >= lifetime:
        problems.append("pull_secret_apikey_rotate_before_days (%d) must be less than pull_secret_apikey_lifetime_days (%d): every "
                        "run would rotate the new key" % (before, lifetime))
    return problems


def registry_namespaces(v):
    """The registry namespaces a service ID is granted (``v``: short names): as given, else the image's first segment."""
    given = [_text(ns).strip() for ns in v.get("registry_namespaces") or [] if _text(ns).strip()]
    if given:
        return given
    path = split_image(_text(v.get("pod_image")))[1] if _text(v.get("pod_image")) else ""
    return [path.split("/", 1)[0]] if "/" in path else []


def registry_servers(v, server):
    """The hosts the Secret holds the credential for: as given (in order, once each), else the one server."""
    given = []
    for item in v.get("registry_servers") or []:
        item = _text(item).strip()
        if item and item not in given:
            given.append(item)
    return given or [server]


def _registry_server_problems(v):
    problems = []
    for item in v.get("registry_servers") or []:
        text = _text(item).strip()
        host, _sep, port = text.partition(":")
        if not text or not _is_subdomain(host.lower()) or (port and not port.isdigit()):
            problems.append("registry server %s in pull_secret_registry_servers is not a host[:port] (no scheme or path), e.g. us.icr.io "
                            "or private.us.icr.io" % _quote(text))
    return problems


def service_id_description(v):
    """The description the role gives a service ID it creates, and by which state absent knows it may delete it."""
    return "Pulls images for the Kubernetes Secret %s (ibm_dedicated.registry.pull_secret)" % _text(v.get("name")).strip()


def default_service_id_name(v):
    """``k8s-pull-<org or "account">-<Secret name>``: unrelated consumers never share a service ID."""
    return "k8s-pull-%s-%s" % (_text(v.get("org")).strip().lower() or "account", _text(v.get("name")).strip())


def _namespace_problems(v):
    problems = []
    namespaces = v.get("namespaces") or []
    selector = _text(v.get("namespace_selector"))
    if not namespaces and not selector:
        problems.append("pull_secret_namespaces is empty: list at least one namespace, or use [all] or pull_secret_namespace_selector")
    if selector and namespaces not in (["default"], ["all"], []):
        problems.append("pull_secret_namespace_selector and a list in pull_secret_namespaces exclude each other: use one of them")
    if not _selects(v):
        for namespace in namespaces:
            if not _is_label(namespace):
                problems.append("namespace %s is not a valid name (DNS-1123 label: lower-case letters, digits and \"-\", at most "
                                "63 characters)" % _quote(namespace))
    return problems


def _pod_problems(values):
    v = _short(values)
    problems = _image_problems(values)
    pod_name = v.get("pod_name")
    if not _is_subdomain(pod_name) or len(pod_name) > 63:
        problems.append("pull_secret_pod_name %s is not a valid Pod name (DNS-1123 subdomain: lower-case letters, digits, \"-\" "
                        "and \".\", at most 63 characters, as it is also the value of the label app.kubernetes.io/name)" % _quote(pod_name))
    if not _is_label(v.get("pod_container_name")):
        problems.append("pull_secret_pod_container_name %s is not a valid container name (DNS-1123 label)" % _quote(v.get("pod_container_name")))
    pod_namespace = _text(v.get("pod_namespace"))
    if pod_namespace and not _selects(v) and pod_namespace not in (v.get("namespaces") or []):
        problems.append("pull_secret_pod_namespace %s must be one of pull_secret_namespaces, where the Secret exists" % _quote(pod_namespace))
    return problems


def _report_problems(v):
    """The audit report's files (``v``: short names): formats that have a path to go to, and no two to one file."""
    from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import REPORT_FORMATS, report_paths

    formats = v.get("audit_report_formats")
    path = _text(v.get("audit_report_path"))
    if formats is None:
        return []
    if not formats:
        return ["pull_secret_audit_report_formats is empty: list one or more of %s, e.g. [json, markdown]" % ", ".join(REPORT_FORMATS)]
    if not path:
        return [] if list(formats) == ["json"] else [
            "pull_secret_audit_report_formats %s needs pull_secret_audit_report_path: the path of the JSON report (e.g. "
            "/srv/audit/report.json), beside which the other formats are written with the same stem" % ",".join(formats)]
    targets = report_paths(path, formats)
    if len({target for _fmt, target in targets}) < len(targets):
        return ["pull_secret_audit_report_path %s names the file of another format: %s would both be written there. Name the "
                "JSON report, e.g. %s" % (_quote(path), " and ".join(fmt for fmt, target in targets if target == path),
                                          os.path.splitext(path)[0] + ".json")]
    return []


def check(values, env=None):
    """Every problem with the converted ``values`` (full option names, as :func:`convert` returns them), as sentences
    that say what to fix. ``env`` is the controller's environment (a dict). Never mentions a secret's value."""
    env = os.environ if env is None else env
    v = _short(values)
    tokens = v.get("credential_type") == "token"
    problems = _credential_problems(v, env) + _endpoint_problems(v) + _registry_server_problems(v)
    if tokens and not _text(v.get("org")).strip():
        problems.append("pull_secret_org is required: the Cloud Foundry organization that owns the registry namespace")
    domain = _text(v.get("dedicated_domain"))
    if tokens and not domain.strip() and not (_text(v.get("api_endpoint")).strip() and _text(v.get("registry_endpoint")).strip()):
        problems.append("set pull_secret_dedicated_domain, or both pull_secret_api_endpoint and pull_secret_registry_endpoint")
    elif not tokens and not (domain.strip() or _text(v.get("registry_endpoint")).strip()):
        problems.append("set pull_secret_dedicated_domain or pull_secret_registry_endpoint: the registry the Secret is for")
    if domain and not _DOMAIN.fullmatch(domain):
        problems.append("pull_secret_dedicated_domain must be a bare domain such as cfsdedicated1.us-south.bluemix.net (no scheme, "
                        "port, path or spaces), got " + _quote(domain))
    problems += _namespace_problems(v)
    if not _is_subdomain(v.get("name")):
        problems.append("pull_secret_name %s is not a valid Secret name (DNS-1123 subdomain: lower-case letters, digits, \"-\" and \".\")"
                        % _quote(v.get("name")))
    for account in v.get("service_accounts") or []:
        if not _is_subdomain(account):
            problems.append("service account %s in pull_secret_service_accounts is not a valid name (DNS-1123 subdomain)" % _quote(account))
    if re.search(r"\s", _text(v.get("docker_server"))):
        problems.append("pull_secret_docker_server must not contain spaces")
    email = _text(v.get("docker_email"))
    if email and not _EMAIL.fullmatch(email):
        problems.append("pull_secret_docker_email %s is not an e-mail address; leave it empty to omit it" % _quote(email))
    kubeconfig = _text(v.get("kubeconfig"))
    if kubeconfig and not os.path.isfile(os.path.expanduser(kubeconfig)):
        problems.append("pull_secret_kubeconfig %s does not exist on the controller" % _quote(kubeconfig))
    for name, minimum in sorted(INT_MINIMUMS.items()):
        value = values.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
            problems.append("%s must be %s, got %d" % (name, "a positive number (at least 1)" if minimum == 1 else "at least %d" % minimum, value))
    if v.get("state") == "audit":
        problems += _report_problems(v)
    # The Pod proves the pull when it is enabled, and always in a rotation (tasks/main.yml).
    if v.get("state") == "present" and (v.get("pod_enabled") or v.get("rotate")):
        problems += _pod_problems(values)
    # Belt and braces: the messages above quote only options that are not secret.
    secrets = secret_strings(values)
    return [redact(problem, secrets) for problem in problems]


# --- derived values ---------------------------------------------------------------------------------------------------

def _selects(v):
    return len(_text(v.get("namespace_selector"))) > 0 or (v.get("namespaces") or []) == ["all"]


def has_apikey(v, env):
    """An API key is given by variable or in the environment (``v``: short names)."""
    return bool(v.get("apikey") or _env_value(env, *APIKEY_ENV))


def default_token_description(values):
    """The token description when none is given: ``k8s-pull-<org>-<secret name>`` (org in lower case)."""
    v = _short(values)
    return "k8s-pull-%s-%s" % (_text(v.get("org")).strip().lower(), _text(v.get("name")).strip())


def credential_tasks(v, single_use_login, play_hosts):
    """The task files present.yml runs between the read and the write, in order (``v``: short names). A play of one
    host has no other host to be the same cluster as; a single-use credential is used once, for the one login."""
    files = ["check_play.yml"] if play_hosts > 1 else []
    if single_use_login:
        files.append("login.yml")
    kind = v.get("credential_type")
    files.append("rotate.yml" if v.get("rotate") and kind == "token" else "%s.yml" % kind)
    return files


def derive(values, env=None, play_hosts=1):
    """The fact ``__pull_secret_opts``: every option without the ``pull_secret_`` prefix, converted, except the secret
    ones, plus the derived values (docs/role-design.md). ``env`` is the controller's environment (a dict);
    ``play_hosts`` the number of hosts of the play."""
    env = os.environ if env is None else env
    v = _short(values)
    opts = {name[len(PREFIX):]: value for name, value in values.items() if name.startswith(PREFIX) and name not in SECRET_OPTIONS}
    host = registry_host(values)
    selects = _selects(v)
    namespaces = v.get("namespaces") or []
    description = _text(v.get("token_description"))
    given = bool(description.strip())
    path = image_path(values)
    opts.update(
        pod_image=path,
        registry_host=host,
        server=_text(v.get("docker_server")) or host,
        servers=registry_servers(v, _text(v.get("docker_server")) or host),
        docker_username="token" if v.get("credential_type") == "token" else "iamapikey",
        pod_image_ref="%s/%s" % (host, path) if path else "",
        pod_namespace=_text(v.get("pod_namespace")) or (namespaces[0] if namespaces and not selects else ""),
        selects_namespaces=selects,
        token_description=description if given else default_token_description(values),
        token_description_given=given,
        single_use_login=single_use_login(v, env),
        has_apikey=has_apikey(v, env),
        service_id_name=_text(v.get("service_id_name")).strip() or default_service_id_name(v),
        service_id_description=service_id_description(v),
        registry_namespaces=registry_namespaces(v),
    )
    opts["credential_tasks"] = credential_tasks(v, opts["single_use_login"], play_hosts)
    # absent.yml, after the cluster side: the credentials no Secret uses any more (a personal API key is its owner's)
    opts["absent_tasks"] = [] if v.get("credential_type") == "iamapikey" else ["absent_%s.yml" % v.get("credential_type")]
    return opts


def single_use_login(v, env):
    """A one-time passcode or a refresh token (and no UAA token) is the credential: the role logs in once."""
    return bool(not (v.get("oauth_token") or _env_value(env, OAUTH_TOKEN_ENV))
                and (v.get("passcode") or _env_value(env, PASSCODE_ENV) or _env_value(env, REFRESH_TOKEN_ENV)))
