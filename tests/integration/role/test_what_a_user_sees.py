"""Issue 16: what a user sees of the role with the default callback and default settings, through ansible-playbook
against the sandbox: how much an unchanged run prints, one quiet wait for the Pod, one message per failure, the
words of check mode, and --diff of every object the role writes (never a Secret's data, whatever no_log says)."""

import base64
import re

from playbook import run_playbook
from role_helpers import PLAYBOOK, POD, ROOT, SECRET, dockerconfig, role_vars

REVOKE = ROOT / "playbooks" / "revoke.yml"
AUDIT = ROOT / "playbooks" / "audit.yml"
RETRYING = "FAILED - RETRYING"
TASK_HEADER = re.compile(r"^TASK \[", re.MULTILINE)
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


def headers(stdout):
    return len(TASK_HEADER.findall(stdout))


def said(stdout):
    """The output with the YAML callback's line wrapping undone (a long summary line is folded)."""
    return re.sub(r"\s*\n\s*", " ", stdout)


def diff_headers(stdout):
    """The objects --diff showed: ``{"Kind namespace/name", ...}``."""
    return set(re.findall(r"^\+\+\+ after: (.+)$", stdout, re.MULTILINE))


def test_unchanged_run_prints_at_most_12_task_headers_and_no_retry_lines(sandbox, kube):
    """Issue 16: an unchanged run printed 38 task headers, 26 of them skipped; the first run printed one "FAILED -
    RETRYING" line per poll of the Pod."""
    v = role_vars(sandbox, "ux-quiet")
    first = run_playbook(PLAYBOOK, v)
    assert first.rc == 0, first
    assert RETRYING not in first.stdout
    assert re.search(r"Pod \S+: pulled \S+ in [\d.]+ s", said(first.stdout)), first.stdout
    second = run_playbook(PLAYBOOK, v)
    assert second.rc == 0 and second.changed == 0, second
    assert headers(second.stdout) <= 12, second.stdout
    assert second.stdout.count("skipping:") <= 1, second.stdout
    assert RETRYING not in second.stdout and "rescued=0" in second.stdout
    assert re.search(r"Pod \S+: Ready, proven at \d{4}-\d\d-\d\dT", said(second.stdout)), second.stdout
    assert "pulled" not in second.stdout.split("TASK [ibm_dedicated.registry.pull_secret : Summary]")[1]


def test_a_failed_pull_is_told_once_on_one_line_then_the_events(sandbox):
    """Issue 16: a pull failure was printed two or three times, the last copy naming the role's reporting task, with
    the registry's reason four times; the recap showed rescued=1."""
    v = role_vars(sandbox, "ux-pullfail", pull_secret_pod_image="acme/missing:9.9", pull_secret_pod_wait_timeout=30)
    result = run_playbook(PLAYBOOK, v, timeout=120)
    assert result.rc != 0, result
    assert result.stdout.count("fatal: [") == 1, result.stdout
    image = f"{sandbox['registry_host']}/acme/missing:9.9"
    # ansible-core 2.19+ shows a failed task's message twice, as "[ERROR]: Task failed: ..." and in "fatal: ...".
    told = said(result.stdout.split("fatal: [", 1)[1])
    assert told.count(f"manifest unknown for {image}: the image or tag does not exist") == 1, result.stdout
    assert "manifest unknown: manifest unknown for" not in said(result.stdout)
    assert "Recent events (newest first):" in told
    assert "The role stopped at" not in result.stdout
    assert "rescued=0" in result.stdout and "failed=1" in result.stdout
    assert RETRYING not in result.stdout


def test_check_mode_says_would(sandbox, kube):
    """Issue 16: --check printed "created in 2", "the kubelet pulled" and, for revoke, "revoked"."""
    v = role_vars(sandbox, "ux-check")
    ns = v["pull_secret_namespaces"][0]
    checked = run_playbook(PLAYBOOK, v, check=True)
    assert checked.rc == 0, checked
    shown = said(checked.stdout)
    assert "would be created in 1" in shown and f"Namespaces would be created: {ns}" in shown
    assert f"Pod {ns}/{POD}: would be proven (not run in check mode)" in shown
    assert "pulled" not in checked.stdout and "proven at" not in checked.stdout
    assert run_playbook(PLAYBOOK, v).rc == 0
    revoke = run_playbook(REVOKE, v, check=True)
    assert revoke.rc == 0, revoke
    shown = said(revoke.stdout)
    assert "would be revoked" in shown and "would be deleted in 1 namespace(s)" in shown
    assert " revoked:" not in shown.replace("would be revoked:", "")
    assert kube.secret(ns, SECRET) is not None


def test_diff_shows_every_object_written_and_never_the_secret_data(sandbox, kube):
    """Issue 16: --diff showed no diff for the namespaces created, the ServiceAccount whose imagePullSecrets changed, or
    the Pod replaced; with pull_secret_no_log: false it printed the live token in .dockerconfigjson."""
    v = role_vars(sandbox, "ux-diff", pull_secret_service_accounts=["default"], pull_secret_no_log=False)
    ns = v["pull_secret_namespaces"][0]
    first = run_playbook(PLAYBOOK, v, diff=True, verbosity=4)
    assert first.rc == 0, first
    assert {f"Namespace {ns}", f"Secret {ns}/{SECRET}", f"ServiceAccount {ns}/default", f"Pod {ns}/{POD}"} <= diff_headers(first.stdout)
    assert "+    imagePullSecrets:" in first.stdout and "data: (hidden)" in first.stdout
    secret = kube.secret(ns, SECRET)
    entry = next(iter(dockerconfig(secret)["auths"].values()))
    data = secret["data"][".dockerconfigjson"]
    needles = {"registry token": entry["password"], "token:<value> in base64": entry["auth"], ".dockerconfigjson in base64": data,
               ".dockerconfigjson": base64.b64decode(data).decode()}
    hits = [what for what, value in needles.items() if value in first.output]
    hits += [f"a JWT {m[:10]}..." for m in JWT.findall(first.output)]
    assert not hits, f"credentials in the --diff -vvvv output: {hits}"

    unchanged = run_playbook(PLAYBOOK, v, diff=True)
    assert unchanged.rc == 0 and unchanged.changed == 0, unchanged
    assert diff_headers(unchanged.stdout) == set(), unchanged.stdout

    replaced = run_playbook(PLAYBOOK, dict(v, pull_secret_pod_container_name="hello-again"), diff=True)
    assert replaced.rc == 0, replaced
    assert diff_headers(replaced.stdout) == {f"Pod {ns}/{POD}"}, replaced.stdout
    assert "+            name: hello-again" in replaced.stdout
    assert "nodeName" not in replaced.stdout  # what the server added is not the role's change


def test_audit_prints_only_its_own_path_and_fails_on_drift_with_the_audit(sandbox, kube):
    """Issue 16: the audit printed 27 of 37 task headers skipped; with pull_secret_audit_fail_on_drift it failed with the
    problems alone, and its own "Fail on drift" task never ran."""
    v = role_vars(sandbox, "ux-audit", pull_secret_pod_enabled=False)
    assert run_playbook(PLAYBOOK, v).rc == 0
    audit = run_playbook(AUDIT, v)
    assert audit.rc == 0, audit
    # 9: the arg spec, the options, the state's include, the credential type's include (audit_token.yml), its two
    # tasks, the audit, the report, forgetting the credentials
    assert "skipping:" not in audit.stdout and headers(audit.stdout) <= 9, audit.stdout
    assert "Audit of Secret ibm-registry-pull (in order)" in audit.stdout
    missing = v["pull_secret_namespaces"] + ["ux-audit-gone"]
    failing = run_playbook(AUDIT, dict(v, pull_secret_namespaces=missing, pull_secret_audit_fail_on_drift=True))
    assert failing.rc != 0 and failing.stdout.count("fatal: [") == 1, failing
    told = said(failing.stdout.split("fatal: [", 1)[1])
    assert "Audit of Secret ibm-registry-pull (1 problem(s))" in told
    assert "ux-audit-gone: Secret ibm-registry-pull is missing. Repair: run playbooks/pull_secret.yml" in told
    assert "Audit failed (pull_secret_audit_fail_on_drift): 1 problem(s), listed above." in told


def test_rotate_without_an_inventory_uses_the_implicit_localhost(sandbox, kube, tmp_path):
    """Issue 16 (found while writing the no-checkout README): with no inventory (the implicit localhost, as an installed
    collection runs), rotate.yml failed "before the new token could be proven" although the Pod pulled: ansible-core's
    HostVars is empty, hence false, there."""
    v = role_vars(sandbox, "ux-noinv", ansible_python_interpreter="{{ ansible_playbook_python }}")
    assert run_playbook(PLAYBOOK, v, extra_args=["-i", str(tmp_path / "none.yml")]).rc == 0
    rotated = run_playbook(ROOT / "playbooks" / "rotate.yml", v, extra_args=["-i", str(tmp_path / "none.yml")])
    assert rotated.rc == 0, rotated
    assert "failed before the new token could be proven" not in rotated.stdout
