# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""extensions/awx: the credential types and survey specs are what AWX accepts, and they fit the collection.

The AWX rules checked here are those of its API validation (credential type inputs/injectors JSON
schema and template check, survey spec check); the collection rules tie each injected variable to an
option the modules read and each survey variable to a role variable.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
TYPE_FILES = sorted((AWX / "credential_types").glob("*.yml"))
SURVEY_FILES = sorted((AWX / "surveys").glob("*.json"))
ROLE_SPEC = yaml.safe_load((ROOT / "roles" / "pull_secret" / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]

try:
    from ansible_collections.ibm_dedicated.registry.plugins.module_utils import _common
except ImportError:  # run without PYTHONPATH=.collections (the Makefile sets it)
    sys.path.insert(0, str(ROOT / ".collections"))
    from ansible_collections.ibm_dedicated.registry.plugins.module_utils import _common

IDENTIFIER = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime", "default"}
STRING_ONLY = ("choices", "multiline", "format", "secret")
# Variables AWX refuses in credential injectors besides ANSIBLE_* (its ENV_BLOCKLIST).
AWX_RESERVED_ENV = {
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
}
SECRET_ID = re.compile(r"password|passcode|apikey|api_key|token|secret|private_key", re.IGNORECASE)
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int, "float": float}
SURVEY_TO_ROLE_TYPE = {"text": "str", "textarea": "str", "password": "str", "multiplechoice": "str", "multiselect": "list",
                       "integer": "int", "float": "float"}
ROLE_SECRETS = {"pull_secret_password", "pull_secret_apikey", "pull_secret_passcode", "pull_secret_oauth_token"}
# Playbook variables of the lifecycle playbooks that are not role variables (none: the audit's are role variables).
PLAYBOOK_VARS = {}


class _DataLoader(yaml.SafeLoader):
    pass


_DataLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_type(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_DataLoader)


def templates(cred_type):
    for kind, injector in cred_type["injectors"].items():
        for key, template in injector.items():
            yield kind, key, template


def env_fallbacks():
    """Environment variable -> (module option, no_log) for every option with an env fallback."""
    result = {}
    for option, spec in _common.COMMON_ARGSPEC.items():
        fallback = spec.get("fallback")
        if fallback:
            for name in fallback[1]:
                result[name] = (option, bool(spec.get("no_log")))
    return result


def test_there_are_the_two_credential_types():
    assert {p.stem for p in TYPE_FILES} == {"ibm_cloud_dedicated", "ibm_cloud_iam_api_key"}


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_credential_type_matches_the_awx_schema(path):
    cred_type = load_type(path)
    assert set(cred_type) == {"name", "description", "kind", "inputs", "injectors"}
    assert isinstance(cred_type["name"], str) and cred_type["name"].strip()
    assert isinstance(cred_type["description"], str) and cred_type["description"].strip()
    assert cred_type["kind"] == "cloud"  # custom types may only be cloud or net

    inputs = cred_type["inputs"]
    assert set(inputs) <= {"fields", "required"}
    ids, labels = [], []
    for field in inputs["fields"]:
        assert set(field) <= FIELD_KEYS, field
        assert {"id", "label"} <= set(field), field
        assert IDENTIFIER.match(field["id"]) and field["id"] != "tower", field["id"]
        assert isinstance(field["label"], str) and field["label"].strip()
        ftype = field.get("type", "string")
        assert ftype in ("string", "boolean"), field
        for key in ("secret", "multiline", "ask_at_runtime"):
            assert isinstance(field.get(key, False), bool), (field["id"], key)
        assert isinstance(field.get("help_text", ""), str)
        if ftype == "boolean":
            assert not set(STRING_ONLY) & set(field), field
        assert field.get("format", "url") in ("ssh_private_key", "url")
        if "choices" in field:
            assert field["choices"] and all(isinstance(c, str) for c in field["choices"])
            assert len(set(field["choices"])) == len(field["choices"])
        if "default" in field:
            assert type(field["default"]) is {"string": str, "boolean": bool}[ftype], field
        ids.append(field["id"])
        labels.append(field["label"])
    assert len(ids) == len(set(ids)) and len(labels) == len(set(labels))
    required = inputs.get("required", [])
    assert isinstance(required, list) and set(required) <= set(ids), required

    injectors = cred_type["injectors"]
    assert set(injectors) <= {"env", "extra_vars", "file"} and injectors.get("env")
    files = list(injectors.get("file", {}))
    assert all(FILE_KEY.match(k) for k in files), files
    assert not ("template" in files and len(files) > 1), "single and multi-file syntax mixed"
    for name, template in injectors["env"].items():
        assert IDENTIFIER.match(name), name
        assert not name.startswith("ANSIBLE_"), f"AWX refuses {name}: ANSIBLE_* would change Ansible's configuration"
        assert name not in AWX_RESERVED_ENV, name
        assert template.isascii(), name
    for name in injectors.get("extra_vars", {}):
        assert IDENTIFIER.match(name), name


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_injectors_use_only_defined_fields(path):
    """As AWX validates: render every template with each field set and StrictUndefined."""
    cred_type = load_type(path)
    ids = {f["id"] for f in cred_type["inputs"]["fields"]}
    file_names = {k.split(".", 1)[1] for k in cred_type["injectors"].get("file", {}) if "." in k}
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    tower = type("Tower", (), {"filename": type("Files", (), dict.fromkeys(file_names, "/runner/env/tmpfile"))()})()
    for kind, key, template in templates(cred_type):
        used = meta.find_undeclared_variables(env.parse(template))
        assert used, f"{kind}.{key} injects a constant"
        assert used <= ids | {"tower"}, f"{kind}.{key} uses undefined {sorted(used - ids - {'tower'})}"
        for name in re.findall(r"tower\.filename\.(\w+)", template):
            assert name in file_names, f"{kind}.{key} refers to file {name!r}, which no file injector writes"
        env.from_string(template).render(dict.fromkeys(ids, "EXAMPLE"), tower=tower)


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_injected_variables_are_read_by_the_modules_and_secrets_are_secret(path):
    cred_type = load_type(path)
    fields = {f["id"]: f for f in cred_type["inputs"]["fields"]}
    read = env_fallbacks()
    env = ImmutableSandboxedEnvironment()
    for name, template in cred_type["injectors"]["env"].items():
        assert name in read, f"{name} is not read by any module option (plugins/module_utils/_common.py)"
        option, no_log = read[name]
        used = meta.find_undeclared_variables(env.parse(template)) - {"tower"}
        if no_log:
            assert all(fields[i].get("secret") for i in used), f"{name} feeds no_log option {option} from a non-secret field"
        else:
            assert not any(fields[i].get("secret") for i in used), f"{name} would expose a secret field through option {option}"
    for field_id, field in fields.items():
        assert bool(field.get("secret")) == bool(SECRET_ID.search(field_id)), f"{field_id}: secret flag"


def test_dedicated_type_covers_every_login_the_modules_read():
    cred_type = load_type(AWX / "credential_types" / "ibm_cloud_dedicated.yml")
    env = set(cred_type["injectors"]["env"])
    assert {"IBMCLOUD_DEDICATED_USERNAME", "IBMCLOUD_DEDICATED_PASSWORD", "IBMCLOUD_API_KEY", "IBMCLOUD_DEDICATED_PASSCODE",
            "IBMCLOUD_DEDICATED_DOMAIN", "IBMCLOUD_DEDICATED_API_ENDPOINT", "IBMCLOUD_DEDICATED_REGISTRY_ENDPOINT",
            "IBMCLOUD_DEDICATED_IAM_ENDPOINT", "IBMCLOUD_DEDICATED_CA_PATH"} <= env
    secret = {f["id"] for f in cred_type["inputs"]["fields"] if f.get("secret")}
    assert secret == {"password", "apikey", "passcode"}
    # The CA is pasted as PEM and written to a file; the variable points at it only when one was given.
    ca = next(f for f in cred_type["inputs"]["fields"] if f["id"] == "ca_cert")
    assert ca.get("multiline") is True
    sandbox = ImmutableSandboxedEnvironment()
    tower = type("Tower", (), {"filename": type("Files", (), {"ca_cert": "/runner/env/tmpca"})()})()
    template = cred_type["injectors"]["env"]["IBMCLOUD_DEDICATED_CA_PATH"]
    assert sandbox.from_string(template).render(tower=tower) == ""
    assert sandbox.from_string(template).render(tower=tower, ca_cert="-----BEGIN CERTIFICATE-----") == "/runner/env/tmpca"
    # An IAM endpoint left empty still gives the IBM Cloud default (the modules' own default).
    iam = cred_type["injectors"]["env"]["IBMCLOUD_DEDICATED_IAM_ENDPOINT"]
    assert sandbox.from_string(iam).render() == _common.DEFAULT_IAM_ENDPOINT


PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars:
        file: "{{ type_file }}"
        name: credential_type
    - ansible.builtin.copy:
        content: "{{ credential_type.injectors | to_json }}"
        dest: "{{ out_file }}"
        mode: "0600"
"""


def include_vars_injectors(type_file, tmp_path):
    """The injectors as a play sees them after include_vars (how awx.awx / infra.aap_configuration read them)."""
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    out = tmp_path / "out.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
                             "-e", f"type_file={type_file}", "-e", f"out_file={out}", "-e", "username=X",
                             "-e", f"ansible_python_interpreter={sys.executable}"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    return result, (json.loads(out.read_text()) if out.exists() else None)


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_ansible_does_not_template_the_injectors(path, tmp_path):
    """Pitfall P19: read by Ansible (include_vars), the Jinja reaches AWX unrendered."""
    result, injectors = include_vars_injectors(path, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert injectors == load_type(path)["injectors"]
    # and every injector value carries the tag in the file itself
    node = yaml.compose(path.read_text(), Loader=_DataLoader)
    section_nodes = next(v for k, v in node.value if k.value == "injectors")
    for _, section in section_nodes.value:
        for key, value in section.value:
            assert value.tag == "!unsafe", f"{key.value} is not tagged !unsafe"


def test_untagged_injectors_would_be_templated_by_ansible(tmp_path):
    """Control for the test above: without !unsafe, Ansible renders (or fails on) the injector Jinja."""
    plain = tmp_path / "plain.yml"
    plain.write_text(TYPE_FILES[0].read_text().replace("!unsafe ", ""))
    result, injectors = include_vars_injectors(plain, tmp_path)
    assert result.returncode != 0 or injectors != load_type(TYPE_FILES[0])["injectors"]


# -- surveys ----------------------------------------------------------------------------------------
def test_there_is_a_survey_per_job_template():
    assert {p.stem for p in SURVEY_FILES} == {"pull_secret", "rotate", "audit", "revoke"}


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.stem)
def test_survey_matches_the_awx_schema(path):
    survey = json.loads(path.read_text())
    assert isinstance(survey["name"], str) and isinstance(survey["description"], str)
    assert isinstance(survey["spec"], list) and survey["spec"]
    seen = set()
    for item in survey["spec"]:
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            assert isinstance(item.get(key), kind), (item.get("variable"), key)
        assert item["variable"] not in seen, item["variable"]
        seen.add(item["variable"])
        qtype = item["type"]
        assert qtype in SURVEY_TYPES, qtype
        if item.get("default", "") != "":
            assert isinstance(item["default"], SURVEY_TYPES[qtype]), item["variable"]
        for key in ("min", "max"):
            assert item.get(key) is None or isinstance(item[key], int), (item["variable"], key)
        if qtype in ("multiplechoice", "multiselect"):
            choices = item["choices"]
            choices = choices.splitlines() if isinstance(choices, str) else choices
            assert choices and all(isinstance(c, str) and c.strip() for c in choices), item["variable"]
            defaults = [d for d in item.get("default", "").splitlines() if d.strip()]
            assert qtype == "multiselect" or len(defaults) <= 1
            assert set(defaults) <= set(choices), item["variable"]
        elif item.get("default") not in (None, "") and qtype in ("text", "textarea", "password"):
            assert item.get("min", 0) <= len(item["default"]) <= item.get("max", 1 << 20), item["variable"]


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.stem)
def test_survey_variables_are_role_variables_of_the_right_type(path):
    survey = json.loads(path.read_text())
    extra = PLAYBOOK_VARS.get(path.stem, set())
    for item in survey["spec"]:
        variable = item["variable"]
        if variable in extra:
            continue
        assert variable in ROLE_SPEC, f"{variable} is not a variable of role pull_secret"
        option = ROLE_SPEC[variable]
        assert SURVEY_TO_ROLE_TYPE[item["type"]] == option["type"], variable
        if option["type"] == "list":
            assert option.get("elements") == "str", variable
        if "choices" in option and item["type"] in ("multiplechoice", "multiselect"):
            assert set(item["choices"]) <= set(option["choices"]), variable
        default = option.get("default")
        if item.get("default") not in (None, "") and isinstance(default, (str, list)) and "{{" not in str(default):
            survey_default = item["default"].splitlines() if item["type"] == "multiselect" else item["default"]
            assert survey_default == default, f"{variable}: survey default differs from the role's"
        if variable in ROLE_SECRETS:
            assert item["type"] == "password", f"{variable} must be a password question (AWX hides its answer)"


def test_org_is_a_required_question_everywhere():
    """The role cannot work without it; AWX then refuses a launch that leaves it out."""
    for path in SURVEY_FILES:
        spec = {item["variable"]: item for item in json.loads(path.read_text())["spec"]}
        assert spec["pull_secret_org"]["required"] is True, path.stem


@pytest.mark.parametrize("name", ["rotate", "audit", "revoke"])
def test_lifecycle_playbooks_use_the_survey_variables(name):
    text = (ROOT / "playbooks" / f"{name}.yml").read_text()
    survey = json.loads((AWX / "surveys" / f"{name}.json").read_text())
    for item in survey["spec"]:
        variable = item["variable"]
        assert variable in text or variable in ROLE_SPEC, f"{name}.yml does not use {variable}"


# Questions a survey may not offer: the Revoke template alone removes (its playbook fixes the state), the role
# derives the token description on the templates any team may launch, and the audit's report path is fixed.
# The service ID settings are fixed per Secret too: a free-text name could name another team's service ID (its keys
# reused, rotated or deleted), more registry namespaces would widen what the key may pull.
SERVICE_ID_SETTINGS = {"pull_secret_service_id_name", "pull_secret_registry_namespaces", "pull_secret_registry_region"}
FORBIDDEN_QUESTIONS = {
    "pull_secret": {"pull_secret_state", "pull_secret_token_description", "pull_secret_rotate"} | SERVICE_ID_SETTINGS,
    "rotate": {"pull_secret_state", "pull_secret_token_description", "pull_secret_rotate"} | SERVICE_ID_SETTINGS,
    "audit": {"pull_secret_state", "pull_secret_audit_report_path", "pull_secret_audit_fail_on_drift", "pull_secret_rotate"}
    | SERVICE_ID_SETTINGS,
    "revoke": {"pull_secret_state", "pull_secret_rotate"} | SERVICE_ID_SETTINGS,
}


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.stem)
def test_survey_offers_no_removal_no_foreign_description_no_report_path(path):
    spec = json.loads(path.read_text())["spec"]
    offered = {item["variable"] for item in spec}
    assert not offered & FORBIDDEN_QUESTIONS[path.stem], sorted(offered & FORBIDDEN_QUESTIONS[path.stem])
    for item in spec:  # no question anywhere can ask for a removal by another name
        assert "absent" not in item.get("choices", []), item["variable"]
        assert "absent" not in str(item.get("default", "")), item["variable"]


# -- pull_secret_credential_type: token or service_id, never a person's key -------------------------------------------
# Every template asks for it, the same question on each: a run with another type than the Secret's rewrites it with its
# own credential (or audits it against the wrong one).
CREDENTIAL_TYPE_SURVEYS = ("pull_secret", "rotate", "audit", "revoke")


def _question(name, variable):
    spec = json.loads((AWX / "surveys" / f"{name}.json").read_text())["spec"]
    return next((item for item in spec if item["variable"] == variable), None)


@pytest.mark.parametrize("name", CREDENTIAL_TYPE_SURVEYS)
def test_survey_offers_token_and_service_id_but_not_iamapikey(name):
    question = _question(name, "pull_secret_credential_type")
    assert question is not None, f"{name} does not ask for pull_secret_credential_type"
    assert question["type"] == "multiplechoice" and question["required"] is True
    assert question["choices"] == ["token", "service_id"]
    assert question["default"] == ROLE_SPEC["pull_secret_credential_type"]["default"] == "token"
    assert {"token", "service_id", "iamapikey"} == set(ROLE_SPEC["pull_secret_credential_type"]["choices"])
    assert question == _question("pull_secret", "pull_secret_credential_type"), "the same question on every template"


@pytest.mark.parametrize("path", SURVEY_FILES, ids=lambda p: p.stem)
def test_no_survey_offers_a_personal_key_for_the_secrets(path):
    """iamapikey writes the launcher's own key, with all of their rights, into Secrets others can read."""
    for item in json.loads(path.read_text())["spec"]:
        choices = item.get("choices", [])
        choices = choices.splitlines() if isinstance(choices, str) else choices
        assert "iamapikey" not in choices and "iamapikey" not in str(item.get("default", "")), item["variable"]
        assert item["variable"] != "pull_secret_apikey", "a managing key belongs in a credential, not a survey answer"


def test_iam_api_key_type_explains_both_uses_and_keeps_its_injectors():
    cred_type = load_type(AWX / "credential_types" / "ibm_cloud_iam_api_key.yml")
    description = cred_type["description"]
    assert "service_id" in description and "iamapikey" in description and "never goes into a Secret" in description
    fields = {f["id"]: f for f in cred_type["inputs"]["fields"]}
    assert "service_id" in fields["apikey"]["help_text"]
    assert cred_type["injectors"] == {"env": {
        "IBMCLOUD_API_KEY": "{{ apikey }}",
        "IBMCLOUD_DEDICATED_IAM_ENDPOINT": "{{ iam_endpoint or 'https://iam.cloud.ibm.com' }}",
    }}


def _section(text, title):
    start = text.index("\n## %s" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


@pytest.mark.parametrize("title", ["Pull secret", "Rotate", "Audit", "Revoke"])
def test_job_templates_say_which_credentials_service_id_needs(title):
    section = _section((AWX / "job_templates.md").read_text(), title)
    assert "`service_id`" in section and "*IBM Cloud IAM API key*" in section and "Kubernetes" in section, title
    assert "`pull_secret_credential_type`" in section, title


def test_readme_documents_service_id_without_a_dedicated_credential():
    text = _section((AWX / "README.md").read_text(), "IAM service ID")
    assert "**IBM Cloud IAM API key**" in text and "no *IBM Cloud Dedicated* credential" in text
    for fixed in SERVICE_ID_SETTINGS:
        assert f"`{fixed}`" in text, fixed


def test_job_templates_document_the_fixed_extra_vars():
    text = (AWX / "job_templates.md").read_text()
    for fixed in ("pull_secret_token_description", "pull_secret_audit_report_path", "pull_secret_audit_fail_on_drift"):
        assert f"`{fixed}" in text, fixed
    assert "project/pull_secret.yml" in text
    assert "`absent` to remove" not in text  # the Pull secret template removes nothing


# -- AWX project layout -----------------------------------------------------------------------------
PROJECT = AWX / "project"
WRAPPERS = ("pull_secret", "rotate", "audit", "revoke")
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
# The state each wrapper fixes (the role's default, present, for pull_secret and rotate, written out).
WRAPPER_VARS = {
    "pull_secret": {"pull_secret_state": "present"},
    "rotate": {"pull_secret_state": "present", "pull_secret_rotate": True},
    "audit": {"pull_secret_state": "audit"},
    "revoke": {"pull_secret_state": "absent"},
}


def test_project_has_a_wrapper_per_job_template_and_nothing_local():
    assert {p.stem for p in PROJECT.glob("*.yml")} == set(WRAPPERS) == {p.stem for p in SURVEY_FILES}
    # Nothing in the project may shadow the installed collection's role.
    assert not (PROJECT / "roles").exists()
    assert not (PROJECT / "collections" / "ansible_collections").exists()


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrapper_runs_the_installed_role_like_the_collection_playbook(name):
    plays = yaml.safe_load((PROJECT / f"{name}.yml").read_text())
    assert isinstance(plays, list) and len(plays) == 1
    play = plays[0]
    assert play["hosts"] == "{{ pull_secret_hosts | default('localhost') }}"
    assert play["connection"] == "local" and play["gather_facts"] is False
    assert not {"tasks", "pre_tasks", "post_tasks", "vars", "vars_files", "import_playbook"} & set(play)
    assert len(play["roles"]) == 1
    role = play["roles"][0]
    assert role["role"] == "ibm_dedicated.registry.pull_secret"  # by FQCN: the collection's role, installed
    assert role.get("vars", {}) == WRAPPER_VARS[name]
    for variable in role["vars"]:
        assert variable in ROLE_SPEC, variable
    # the same play as the collection's playbook (which fixes only what differs from the role defaults)
    (original,) = yaml.safe_load((ROOT / "playbooks" / f"{name}.yml").read_text())
    assert {k: v for k, v in play.items() if k != "roles"} == {k: v for k, v in original.items() if k != "roles"}
    original_vars = original["roles"][0].get("vars", {})
    assert original["roles"][0]["role"] == role["role"]
    assert {"pull_secret_state": ROLE_SPEC["pull_secret_state"]["default"], **original_vars} == role["vars"]


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrapper_passes_syntax_check_with_the_installed_collection(name, tmp_path):
    collections = ROOT / ".collections"
    if not (collections / "ansible_collections" / "ibm_dedicated" / "registry").exists():
        pytest.skip(".collections is not set up (make setup)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path),
                "ANSIBLE_ROLES_PATH": str(tmp_path / "no-roles")})
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                             str(PROJECT / f"{name}.yml")], cwd=tmp_path, capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_requirements_install_the_collection_and_its_dependency():
    requirements = yaml.safe_load((PROJECT / "collections" / "requirements.yml").read_text())
    assert set(requirements) == {"collections"}
    by_name = {c["name"]: c for c in requirements["collections"]}
    assert set(by_name) == {f"{GALAXY['namespace']}.{GALAXY['name']}", *GALAXY["dependencies"]}
    assert by_name["ibm_dedicated.registry"]["version"] == f">={GALAXY['version']}"
    for dependency, floor in GALAXY["dependencies"].items():
        assert by_name[dependency]["version"] == floor, dependency


def test_readme_documents_the_project_layout():
    text = (AWX / "README.md").read_text()
    assert "project/collections/requirements.yml" in text
    for name in WRAPPERS:
        assert f"project/{name}.yml" in text or f"`{name}.yml`" in text, name
