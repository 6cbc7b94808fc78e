"""Issue 16: the audit writes its report as Markdown and HTML tables beside the JSON (pull_secret_audit_report_formats),
end to end through playbooks/audit.yml against the sandbox: a row per cluster and namespace with its state, a Secret
made stale by hand says so, no file holds the token, and a format that does not exist is told with the choices."""

import html.parser
import json

from playbook import run_playbook
from role_helpers import PLAYBOOK, ROOT, SECRET, dockerconfig, live_tokens, role_vars

AUDIT = ROOT / "playbooks" / "audit.yml"
FORMATS = ["-e", "pull_secret_audit_report_formats=json,markdown,html"]  # a string, as the command line gives it


def markdown_rows(text, heading="Secrets by cluster and namespace"):
    """``{(cluster, namespace): [state, token id, service accounts, details]}`` of the Markdown table under heading."""
    section = text.split("## " + heading + "\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
    return {(row[0], row[1]): row[2:] for row in cells}


class _Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.tags, self._cell = [], set(), None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_rows(text):
    parser = _Tables()
    parser.feed(text)
    header, *body = parser.tables[0]
    assert header[:3] == ["Cluster", "Namespace", "State"]
    return {(row[0], row[1]): row[2:] for row in body}, parser.tags


def audit(v, tmp_path, name):
    path = tmp_path / name / "audit.json"
    path.parent.mkdir()
    result = run_playbook(AUDIT, {**v, "pull_secret_audit_report_path": str(path)}, extra_args=FORMATS)
    assert result.rc == 0, result
    files = {suffix: path.with_suffix(suffix) for suffix in (".json", ".md", ".html")}
    assert all(f.exists() for f in files.values()), sorted(p.name for p in path.parent.iterdir())
    return {suffix: f.read_text() for suffix, f in files.items()}


def test_the_audit_writes_markdown_and_html_tables_beside_the_json(sandbox, kube, tmp_path):
    names = ["auditfmt-a", "auditfmt-b"]
    v = role_vars(sandbox, "auditfmt", pull_secret_pod_enabled=False, pull_secret_namespaces=names, pull_secret_service_accounts=["default"])
    assert run_playbook(PLAYBOOK, v).rc == 0
    token_id = live_tokens(sandbox, v["pull_secret_token_description"])[0]["id"]
    value = next(iter(dockerconfig(kube.secret(names[0], SECRET))["auths"].values()))["password"]

    before = audit(v, tmp_path, "before")
    report = json.loads(before[".json"])
    host = report["clusters"][0]["cluster"]
    assert {ns: e["status"] for ns, e in report["clusters"][0]["namespaces"].items()} == dict.fromkeys(names, "ok")
    md = markdown_rows(before[".md"])
    assert md == {(host, n): ["ok", token_id, "default", ""] for n in names}
    rows, tags = html_rows(before[".html"])
    assert rows == {(host, n): ["ok", token_id, "default", ""] for n in names}
    assert "script" not in tags and "link" not in tags

    # Someone edits the description annotation of one Secret by hand: its row says stale, and what differs.
    kube.core.patch_namespaced_secret(SECRET, names[1], {"metadata": {"annotations": {
        "registry.ibm-dedicated.io/token-description": "edited by hand"}}})
    after = audit(v, tmp_path, "after")
    report = json.loads(after[".json"])
    assert report["clusters"][0]["namespaces"][names[1]]["status"] == "stale"
    for rows in (markdown_rows(after[".md"]), html_rows(after[".html"])[0]):
        assert rows[(host, names[0])][0] == "ok"
        state, _token, _accounts, details = rows[(host, names[1])]
        assert state == "stale" and "description annotation is" in details and "edited by hand" in details, rows
    assert "Repair: run playbooks/pull" in after[".md"] and "Repair: run playbooks/pull_secret.yml" in after[".html"]

    # Token ids, never the token.
    for text in list(before.values()) + list(after.values()):
        assert token_id in text
        assert value not in text and value.split(".")[2] not in text


def test_a_report_format_that_does_not_exist_is_told_with_the_choices(sandbox, tmp_path):
    v = role_vars(sandbox, "auditfmtbad", pull_secret_pod_enabled=False)
    path = tmp_path / "audit.json"
    result = run_playbook(AUDIT, {**v, "pull_secret_audit_report_path": str(path)}, extra_args=["-e", "pull_secret_audit_report_formats=md"])
    assert result.rc != 0
    assert "pull_secret_audit_report_formats" in result.output and "json, markdown, html" in result.output, result.output
    assert not path.exists()
