# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""extensions/awx/project/pull_secret.yml as an AWX job template runs it: ansible-runner on a private data
directory (project/ laid out as extensions/awx/project) whose env/envvars holds only what the credentials inject and whose env/extravars holds survey answers.

Checked per job: status and rc, one registry token for the description, the Secret in the namespace,
and no credential (password, API key, Kubernetes token, registry token, any UAA or registry JWT), nor
its base64 form, anywhere in the runner's artifacts.
"""

import base64
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from awx_job import (
    SurveyRefused,
    artifact_dir,
    build_private_data_dir,
    find_secrets,
    kubernetes_bearer_token,
    load_credential_type,
    load_survey,
    render_injectors,
    run_job,
    survey_extravars,
)

from kube import Kube

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def kube(sandbox):
    return Kube(sandbox)


def collections_env():
    """What the job needs besides credentials: this checkout's collections (AWX: the EE's)."""
    return {"ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}


def dedicated_inputs(sandbox, user):
    """An "IBM Cloud Dedicated" credential filled in for the sandbox (password login)."""
    return {
        "dedicated_domain": sandbox["dedicated_domain"],
        "api_endpoint": sandbox["api_endpoint"],
        "registry_endpoint": sandbox["registry_endpoint"],
        "iam_endpoint": sandbox["iam_endpoint"],
        "username": user["username"],
        "password": user["password"],
        "ca_cert": Path(sandbox["ca_path"]).read_text(),
    }


def job_vars(name, namespaces, **answers):
    """Survey answers (pull_secret.json) plus the job template's own extra vars for a test called ``name``."""
    survey = load_survey("pull_secret")
    extravars = survey_extravars(survey, {
        "pull_secret_org": "acme",
        "pull_secret_namespaces": namespaces,
        "pull_secret_name": f"awx-{name}",
        "pull_secret_pod_image": "acme/hello:1.0",
        **answers,
    })
    # The survey has no description question; a site that needs a fixed one sets it here (job_templates.md).
    extravars.update({"pull_secret_create_namespaces": True, "pull_secret_pod_name": f"awx-{name}-check",
                      "pull_secret_pod_wait_timeout": 60, "pull_secret_token_description": f"awx-{name}"})
    return extravars


def tokens(sandbox, description):
    return [t for t in sandbox.admin.state()["tokens"] if t["description"] == description]


def pulled_secret(kube, namespace, name, registry_host):
    secret = kube.secret(namespace, name)
    assert secret is not None, f"no Secret {namespace}/{name}"
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    data = secret["data"][".dockerconfigjson"]
    entry = json.loads(base64.b64decode(data))["auths"][registry_host]
    return data, entry


def assert_successful(runner, pdd):
    stdout = (artifact_dir(pdd) / "stdout").read_text()
    assert (runner.status, runner.rc) == ("successful", 0), stdout[-3000:]


def assert_artifacts_clean(pdd, secrets):
    """No secret anywhere under artifacts/, except ansible-runner's record of the process environment.

    ansible-runner writes ``artifacts/<ident>/command`` as {command, cwd, env} (mode 0600) with the full
    environment, so env-injected credentials are in that one field by design. The command line must not
    carry any; the env field must (a positive control for the scanner).
    """
    root = artifact_dir(pdd)
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.parent.name == "job_events" for p in files), "no job events recorded"
    leaks = {}
    for path in files:
        blob = path.read_bytes()
        if path == root / "command":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            record = json.loads(blob)
            assert find_secrets(json.dumps(record["env"]).encode(), secrets), "scanner found nothing in the env record"
            record.pop("env")
            blob = json.dumps(record).encode()
        found = find_secrets(blob, secrets)
        if found:
            leaks[str(path.relative_to(root))] = sorted(found)
    assert not leaks, f"credentials in the artifacts: {leaks}"  # names only, never values


@pytest.mark.parametrize("login", ["password", "apikey"])
def test_job_with_dedicated_credential_and_kubeconfig(sandbox, kube, tmp_path, login):
    """One "IBM Cloud Dedicated" credential, either login; K8S_AUTH_KUBECONFIG / K8S_AUTH_CONTEXT for the cluster."""
    user = sandbox["users"][0]
    pdd = tmp_path / "pdd"
    inputs = dedicated_inputs(sandbox, user)
    if login == "apikey":
        inputs.update(username="", password="", apikey=user["apikey"])
    cred_env = render_injectors(load_credential_type("ibm_cloud_dedicated"), inputs, pdd)
    assert Path(cred_env["IBMCLOUD_DEDICATED_CA_PATH"]).parent == pdd / "env"
    # Exactly what AWX injects: the fields left empty arrive as "", and the modules treat them as unset.
    unused = ["IBMCLOUD_API_KEY"] if login == "password" else ["IBMCLOUD_DEDICATED_USERNAME", "IBMCLOUD_DEDICATED_PASSWORD"]
    assert [cred_env[name] for name in [*unused, "IBMCLOUD_DEDICATED_PASSCODE"]] == [""] * (len(unused) + 1)
    envvars = {**cred_env,
               "K8S_AUTH_KUBECONFIG": sandbox["kubeconfig"], "K8S_AUTH_CONTEXT": sandbox["clusters"][0]["context"],
               **collections_env()}
    name = f"kubeconfig-{login}"
    extravars = job_vars(name, ["team-a"])
    build_private_data_dir(pdd, extravars, envvars)

    runner = run_job(pdd)

    assert_successful(runner, pdd)
    live = tokens(sandbox, f"awx-{name}")
    assert len(live) == 1 and not live[0]["revoked"], live
    data, entry = pulled_secret(kube, "team-a", f"awx-{name}", sandbox["registry_host"])
    assert entry["username"] == "token"
    pod = kube.pod("team-a", f"awx-{name}-check")
    assert pod is not None and pod["status"]["phase"] == "Running"
    assert not find_secrets(json.dumps(extravars).encode(), {"password": user["password"]})
    assert_artifacts_clean(pdd, {
        "password": user["password"], "apikey": user["apikey"], "registry token": entry["password"],
        "dockerconfigjson": data, "auth": entry.get("auth", ""),
    })


def test_job_with_kubernetes_bearer_token_credential(sandbox, kube, tmp_path):
    """AWX's built-in Kubernetes credential: K8S_AUTH_HOST / API_KEY / SSL_CA_CERT / VERIFY_SSL, no kubeconfig."""
    user = sandbox["users"][0]
    cluster = sandbox["clusters"][0]
    kubeconfig = yaml.safe_load(Path(sandbox["kubeconfig"]).read_text())
    ca_file = next(c["cluster"]["certificate-authority"] for c in kubeconfig["clusters"] if c["name"] == cluster["name"])
    bearer = json.loads((Path(sandbox["dir"]) / "clusters" / cluster["name"] / "tokens.json").read_text())["admin"]
    pdd = tmp_path / "pdd"
    cred_env = render_injectors(load_credential_type("ibm_cloud_dedicated"), dedicated_inputs(sandbox, user), pdd)
    k8s_env = kubernetes_bearer_token(cluster["server"], bearer, Path(ca_file).read_text(), pdd)
    assert k8s_env["K8S_AUTH_VERIFY_SSL"] == "True" and Path(k8s_env["K8S_AUTH_SSL_CA_CERT"]).parent == pdd / "env"
    envvars = {**cred_env, **k8s_env, **collections_env()}
    extravars = job_vars("bearer", ["team-b"])
    build_private_data_dir(pdd, extravars, envvars)

    runner = run_job(pdd)

    assert_successful(runner, pdd)
    assert len(tokens(sandbox, "awx-bearer")) == 1
    data, entry = pulled_secret(kube, "team-b", "awx-bearer", sandbox["registry_host"])
    assert_artifacts_clean(pdd, {
        "password": user["password"], "kube token": bearer, "registry token": entry["password"], "dockerconfigjson": data,
    })


def test_job_with_iam_api_key_credential(sandbox, kube, tmp_path):
    """The "IBM Cloud IAM API key" type injects only required values: nothing empty, no workaround.

    The endpoints and CA come from the job template's extra vars here, as a user of this type would set them.
    """
    user = sandbox["users"][0]
    pdd = tmp_path / "pdd"
    cred_env = render_injectors(load_credential_type("ibm_cloud_iam_api_key"),
                                {"apikey": user["apikey"], "iam_endpoint": sandbox["iam_endpoint"]}, pdd)
    assert all(cred_env.values()), sorted(k for k, v in cred_env.items() if not v)
    envvars = {**cred_env, "K8S_AUTH_KUBECONFIG": sandbox["kubeconfig"], "K8S_AUTH_CONTEXT": sandbox["clusters"][0]["context"],
               **collections_env()}
    extravars = job_vars("iam", ["team-a"])
    extravars.update({"pull_secret_dedicated_domain": sandbox["dedicated_domain"], "pull_secret_api_endpoint": sandbox["api_endpoint"],
                      "pull_secret_registry_endpoint": sandbox["registry_endpoint"], "pull_secret_ca_path": sandbox["ca_path"]})
    build_private_data_dir(pdd, extravars, envvars)

    runner = run_job(pdd)

    assert_successful(runner, pdd)
    assert len(tokens(sandbox, "awx-iam")) == 1
    data, entry = pulled_secret(kube, "team-a", "awx-iam", sandbox["registry_host"])
    assert_artifacts_clean(pdd, {"apikey": user["apikey"], "registry token": entry["password"], "dockerconfigjson": data})


def test_survey_answers_alone_derive_the_token_description(sandbox, kube, tmp_path):
    """No description extra var: the role names the token k8s-pull-<org>-<Secret name>, and records it on the Secret."""
    user = sandbox["users"][0]
    pdd = tmp_path / "pdd"
    cred_env = render_injectors(load_credential_type("ibm_cloud_dedicated"), dedicated_inputs(sandbox, user), pdd)
    envvars = {**cred_env, "K8S_AUTH_KUBECONFIG": sandbox["kubeconfig"],
               "K8S_AUTH_CONTEXT": sandbox["clusters"][0]["context"], **collections_env()}
    extravars = job_vars("derived", ["team-b"])
    extravars.pop("pull_secret_token_description")
    build_private_data_dir(pdd, extravars, envvars)

    runner = run_job(pdd)

    assert_successful(runner, pdd)
    assert tokens(sandbox, "awx-derived") == []
    live = tokens(sandbox, "k8s-pull-acme-awx-derived")
    assert len(live) == 1 and not live[0]["revoked"], live
    data, entry = pulled_secret(kube, "team-b", "awx-derived", sandbox["registry_host"])
    assert_artifacts_clean(pdd, {"password": user["password"], "registry token": entry["password"], "dockerconfigjson": data})


def test_missing_required_survey_answer_fails_with_the_role_message(sandbox, kube, tmp_path):
    user = sandbox["users"][0]
    survey = load_survey("pull_secret")
    answers = {"pull_secret_namespaces": ["team-b"], "pull_secret_name": "awx-noorg", "pull_secret_pod_image": "acme/hello:1.0"}
    with pytest.raises(SurveyRefused, match="pull_secret_org"):  # AWX itself refuses such a launch ...
        survey_extravars(survey, answers)
    extravars = survey_extravars(survey, answers, enforce_required=False)  # ... unless the survey is off
    assert "pull_secret_org" not in extravars
    extravars["pull_secret_token_description"] = "awx-noorg"  # job template extra var
    pdd = tmp_path / "pdd"
    cred_env = render_injectors(load_credential_type("ibm_cloud_dedicated"), dedicated_inputs(sandbox, user), pdd)
    envvars = {**cred_env, "K8S_AUTH_KUBECONFIG": sandbox["kubeconfig"],
               "K8S_AUTH_CONTEXT": sandbox["clusters"][0]["context"], **collections_env()}
    build_private_data_dir(pdd, extravars, envvars)

    runner = run_job(pdd)

    assert runner.status == "failed" and runner.rc != 0
    stdout = (artifact_dir(pdd) / "stdout").read_text()
    assert "pull_secret_org is required" in stdout, stdout[-3000:]
    assert tokens(sandbox, "awx-noorg") == []
    assert kube.secret("team-b", "awx-noorg") is None
    assert_artifacts_clean(pdd, {"password": user["password"]})


def test_environment_of_the_test_process_does_not_leak_into_jobs(tmp_path, monkeypatch):
    """The jobs above only succeed through the injected env: a stray variable in the shell is removed."""
    monkeypatch.setenv("IBMCLOUD_DEDICATED_PASSWORD", "from-the-shell")
    pdd = build_private_data_dir(tmp_path / "pdd", {}, collections_env())
    (pdd / "project" / "show.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n        msg: \"seen={{ lookup('ansible.builtin.env', 'IBMCLOUD_DEDICATED_PASSWORD') | length }}\"\n")
    runner = run_job(pdd, playbook="show.yml")
    assert_successful(runner, pdd)
    assert "seen=0" in (artifact_dir(pdd) / "stdout").read_text()
    assert os.environ["IBMCLOUD_DEDICATED_PASSWORD"] == "from-the-shell"


def test_secret_scanner_sees_plain_base64_and_nested_forms():
    """The artifact checks above are only as good as this: a token hidden in a dockerconfigjson is found."""
    token = "eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJhYmMiLCJpc3MiOiJ4In0.c2lnbmF0dXJl"
    password = "s3cret-Passw0rd!"
    auth = base64.b64encode(f"token:{token}".encode()).decode()
    config = base64.b64encode(json.dumps({"auths": {"r.example": {"auth": auth}}}).encode()).decode()
    assert find_secrets(f'{{"data": "{config}"}}'.encode(), {"registry token": token}) >= {"registry token"}
    for prefix in ("", "x", "xy"):
        hidden = base64.b64encode(f"{prefix}{password} and more".encode())
        assert find_secrets(b"event: " + hidden, {"password": password}) == {"password"}, prefix
    assert find_secrets(b"bearer " + token.encode(), {}) == {"a JWT (UAA or registry token)"}
    assert find_secrets(b"nothing to see: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", {"password": password}) == set()
