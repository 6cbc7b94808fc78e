# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a playbook the way AWX runs a job template, without an AWX server.

AWX renders the job's credentials into environment variables (and files under ``env/``), merges the
job template's extra vars with the survey answers, lays out a private data directory and hands it to
ansible-runner. This module does the same with the shipped credential types
(``extensions/awx/credential_types``), AWX's built-in Kubernetes bearer token injector, and the
survey specs (``extensions/awx/surveys``), so that tests see what a job would see.

What AWX does is mirrored from its source (``awx/main/models/credential``: custom injectors render
in a Jinja sandbox, fields left empty are absent from the namespace, booleans default to False,
every ``env`` entry is always set; ``injectors.py``: the Kubernetes credential).
"""

import json
import os
import re
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[3]
CREDENTIAL_TYPES = ROOT / "extensions" / "awx" / "credential_types"
SURVEYS = ROOT / "extensions" / "awx" / "surveys"
PROJECT = ROOT / "extensions" / "awx" / "project"


# -- shipped data -----------------------------------------------------------------------------------
class _DataLoader(yaml.SafeLoader):
    """A YAML reader that knows Ansible's ``!unsafe`` tag (it only means "do not template")."""


_DataLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_credential_type(name):
    with open(CREDENTIAL_TYPES / f"{name}.yml", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_DataLoader)


def load_survey(name):
    return json.loads((SURVEYS / f"{name}.json").read_text(encoding="utf-8"))


# -- credentials ------------------------------------------------------------------------------------
def _private_file(directory, text):
    """A file under ``<pdd>/env`` readable by the owner only, as AWX writes injected files."""
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        out.write(text)
    return path


def render_injectors(credential_type, inputs, private_data_dir):
    """The environment AWX injects for a credential of ``credential_type`` holding ``inputs``."""
    namespace = {}
    for key, value in inputs.items():
        if isinstance(value, bool) or value:
            namespace[key] = value
    for field in credential_type["inputs"].get("fields", []):
        if field.get("type", "string") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = Path(private_data_dir) / "env"
    env_dir.mkdir(parents=True, exist_ok=True)
    single, named = None, {}
    for label, template in credential_type["injectors"].get("file", {}).items():
        path = _private_file(env_dir, sandbox.from_string(template).render(**namespace))
        if label == "template":
            single = path
        else:
            named[label.split(".", 1)[1]] = path
    namespace["tower"] = SimpleNamespace(filename=single or SimpleNamespace(**named))
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"].get("env", {}).items()}


def kubernetes_bearer_token(host, bearer_token, ssl_ca_cert, private_data_dir, verify_ssl=True):
    """AWX's built-in "OpenShift or Kubernetes API Bearer Token" credential: its injected env."""
    env = {"K8S_AUTH_HOST": host, "K8S_AUTH_API_KEY": bearer_token}
    if verify_ssl and ssl_ca_cert:
        env["K8S_AUTH_VERIFY_SSL"] = "True"
        env_dir = Path(private_data_dir) / "env"
        env_dir.mkdir(parents=True, exist_ok=True)
        env["K8S_AUTH_SSL_CA_CERT"] = _private_file(env_dir, ssl_ca_cert)
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


# -- surveys ----------------------------------------------------------------------------------------
class SurveyRefused(ValueError):
    """AWX would refuse to launch the job with these answers."""


def survey_extravars(survey, answers, enforce_required=True):
    """Extra vars from survey answers, as AWX builds them (defaults fill unanswered questions)."""
    result = {}
    for question in survey["spec"]:
        variable, qtype = question["variable"], question["type"]
        if variable in answers:
            value = answers[variable]
        elif question.get("default") not in (None, ""):
            value = question["default"]
            if qtype == "multiselect":
                value = [line for line in value.splitlines() if line.strip()]
        else:
            if question["required"] and enforce_required:
                raise SurveyRefused(f"{variable!r} value missing")
            continue
        if qtype in ("multiplechoice", "multiselect"):
            chosen = value if qtype == "multiselect" else [value]
            if any(item not in question["choices"] for item in chosen):
                raise SurveyRefused(f"{variable!r}: answer not among the choices")
        result[variable] = value
    return result


# -- private data directory -------------------------------------------------------------------------
def build_private_data_dir(directory, extravars, envvars, job_timeout=600):
    """``project/`` (a copy of extensions/awx/project, the layout an AWX project has), ``inventory/hosts``,
    ``env/{extravars,envvars,settings}``."""
    pdd = Path(directory)
    shutil.copytree(PROJECT, pdd / "project", dirs_exist_ok=True)
    (pdd / "inventory").mkdir(exist_ok=True)
    # What an AWX inventory with a localhost host needs for the role (the EE's Python has kubernetes).
    (pdd / "inventory" / "hosts").write_text(
        'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n', encoding="utf-8")
    env_dir = pdd / "env"
    env_dir.mkdir(exist_ok=True)
    for name, data in (("extravars", extravars), ("envvars", envvars)):
        path = env_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
    (env_dir / "settings").write_text(json.dumps({
        "job_timeout": job_timeout, "idle_timeout": 0, "suppress_ansible_output": True, "pexpect_use_poll": True,
    }), encoding="utf-8")
    return pdd


# Variables a developer's shell (or CI) may carry that would let a run succeed without the credentials.
LEAKY_ENV = re.compile(r"^(IBMCLOUD_|IC_API_KEY$|K8S_AUTH_|KUBECONFIG$|ANSIBLE_|PYTHONPATH$)")


def run_job(private_data_dir, playbook="pull_secret.yml", ident="job", timeout=600):
    """ansible-runner on ``private_data_dir`` with a clean environment; returns the Runner."""
    import ansible_runner

    saved = {k: os.environ.pop(k) for k in list(os.environ) if LEAKY_ENV.match(k)}
    saved_path = os.environ.get("PATH", "")
    # ansible-playbook of the interpreter running the tests (an EE has exactly one on PATH).
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved_path])
    try:
        return ansible_runner.run(private_data_dir=str(private_data_dir), playbook=playbook, ident=ident, quiet=True, timeout=timeout)
    finally:
        os.environ["PATH"] = saved_path
        os.environ.update(saved)


def artifact_dir(private_data_dir, ident="job"):
    return Path(private_data_dir) / "artifacts" / ident


# -- looking for secrets ----------------------------------------------------------------------------
_JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{24,}={0,2}")


def _b64_forms(secret):
    """The secret's base64 text at each of the three byte alignments it can have inside a longer blob."""
    import base64

    raw = secret.encode()
    forms = set()
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw)
            start, end = -(-8 * pad // 6), (8 * (pad + len(raw))) // 6
            forms.add(text[start:end])
    return {f for f in forms if len(f) >= 8}


def _decodings(blob, depth):
    """``blob`` and what base64 runs inside it decode to (nested ``depth`` times)."""
    import base64
    import binascii

    yield blob
    if depth == 0:
        return
    for match in _BASE64_RUN.finditer(blob):
        run = match.group(0).rstrip(b"=")
        for offset in range(4):
            piece = run[offset:]
            piece = piece[: len(piece) - len(piece) % 4]
            if len(piece) < 24:
                continue
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    decoded = decode(piece)
                except (binascii.Error, ValueError):
                    continue
                yield from _decodings(decoded, depth - 1)


def find_secrets(blob, secrets):
    """Names of the secrets (and "a JWT") found in ``blob``, also base64-encoded and nested once more."""
    found = set()
    needles = {}
    for name, value in secrets.items():
        if value:
            needles[value.encode()] = name
            for form in _b64_forms(value):
                needles[form] = name
    for text in _decodings(blob, 2):
        for needle, name in needles.items():
            if needle in text:
                found.add(name)
        if _JWT.search(text):
            found.add("a JWT (UAA or registry token)")
    return found
