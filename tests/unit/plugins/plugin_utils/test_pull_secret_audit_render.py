"""The audit report as files for people (pull_secret_audit_report_formats): where each format goes, the Markdown and HTML
tables (a row per cluster and namespace with its state, the tokens, the problems), escaping, and that no credential
can reach any format."""

import base64
import datetime
import html.parser
import json
from pathlib import Path

import pytest

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import docker_config_fingerprint, docker_config_json
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_options as options
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import (
    audit_cluster,
    audit_report,
    markdown_escape,
    render_html,
    render_markdown,
    render_report,
    report_files,
    report_paths,
)

ROOT = Path(__file__).resolve().parents[4]
SPEC = options.load_spec(ROOT / "roles" / "pull_secret" / "meta" / "argument_specs.yml")
NOW = 1735689600.0  # 2025-01-01T00:00:00Z
NAME = "ibm-registry-pull"
SERVER = "registry.eu-de.bluemix.net"
DESCRIPTION = "ansible-managed ibm-registry-pull"
OPTS = {"name": NAME, "server": SERVER, "docker_username": "token", "docker_email": None, "credential_type": "token",
        "token_description": DESCRIPTION, "token_description_given": True, "token_read_write": False}
T1 = "1f0c6a52-9d4e-5b7a-8c3f-2e1d0b9a8c71"
T2 = "7b3e9d14-2a6f-5c8e-9b1d-4f7a3c2e6d05"
CANARY = "CANARY-tok3n-v4lue-9f8e7d6c5b4a"


def _b64url(document):
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def jwt(jti, signature="c2lnbmF0dXJl"):
    return ".".join((_b64url({"alg": "HS256", "typ": "JWT"}), _b64url({"jti": jti, "accessLevel": "pull"}), signature))


def token(jti, value=None, revoked=False, expiry=0, readonly=True, description=DESCRIPTION, created_at="2024-12-02T12:00:00Z"):
    return {"id": jti, "description": description, "readonly": readonly, "revoked": revoked, "expiry": expiry,
            "expires_at": datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if expiry else None,
            "created_at": created_at, "permanent": not expiry, "token": value or jwt(jti)}


def secret(namespace, password, token_id, description=DESCRIPTION):
    """A Secret as the role writes it, as kubernetes.core returns it."""
    document = docker_config_json(SERVER, "token", password, None)
    annotations = plan.desired_annotations(token_id, description, docker_config_fingerprint(document))
    return plan.secret_definition(NAME, namespace, annotations, base64.b64encode(document.encode()).decode())


def account(namespace, name="default"):
    return {"metadata": {"name": name, "namespace": namespace}, "imagePullSecrets": [{"name": NAME}]}


def part(host, secrets, targets, tokens, accounts=(), apikey=None, opts=None):
    return audit_cluster(host, {"context": host + "-ctx", "server": "https://api.%s.example:6443" % host}, list(targets), secrets,
                         list(accounts), tokens, dict(OPTS, **(opts or {})), apikey=apikey, now=NOW)


def report_of(parts, tokens, play_hosts=None, opts=None):
    clusters = [{"host": p["cluster"], "fact": {"audit": p, "done": True, "seen_all": True}} if "cluster" in p else p for p in parts]
    hosts = play_hosts if play_hosts is not None else [c["host"] for c in clusters]
    return audit_report(clusters, hosts, tokens, dict(OPTS, **(opts or {})), now=NOW)


def drifted():
    """Two clusters: prod-eu in order in team-a, stale in team-b (another description), missing in team-c; prod-us
    foreign in team-a and ok in team-b; a second live token no Secret uses."""
    tokens = [token(T1), token(T2, created_at="2024-12-31T00:00:00Z")]
    eu = part("prod-eu", [secret("team-a", jwt(T1), T1), secret("team-b", jwt(T1), T1, description="another")],
              ["team-a", "team-b", "team-c"], tokens, accounts=[account("team-a")])
    foreign = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": NAME, "namespace": "team-a"}, "data": {}}
    us = part("prod-us", [foreign, secret("team-b", jwt(T1), T1)], ["team-a", "team-b"], tokens)
    return report_of([eu, us], tokens)


def rows(markdown, heading):
    """The body rows of the Markdown table under ``## heading``, as lists of raw cells."""
    section = markdown.split("## " + heading + "\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


class _Cells(html.parser.HTMLParser):
    """The text of every table cell, per table, and every tag seen."""

    def __init__(self):
        super().__init__()
        self.tables, self.tags, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
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


def parsed(page):
    parser = _Cells()
    parser.feed(page)
    return parser


# -- where the files go ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, formats, expected", [
    ("/r/audit.json", ["json"], [("json", "/r/audit.json")]),
    ("/r/audit.json", None, [("json", "/r/audit.json")]),  # a fact from before the option: JSON as always
    ("/r/audit.json", ["html", "markdown", "json"], [("json", "/r/audit.json"), ("markdown", "/r/audit.md"), ("html", "/r/audit.html")]),
    ("/r/audit.json", ["markdown"], [("markdown", "/r/audit.md")]),  # the path names the stem even without JSON
    ("/r/audit", ["json", "html"], [("json", "/r/audit"), ("html", "/r/audit.html")]),
    ("/r/v1.2/audit.json", ["markdown"], [("markdown", "/r/v1.2/audit.md")]),
    ("/r/audit.json", [], []),
])
def test_each_format_goes_beside_the_json_with_the_same_stem(path, formats, expected):
    assert report_paths(path, formats) == expected


def test_the_json_file_is_the_report_as_before():
    report = drifted()
    files = dict(report_files(report, "/r/audit.json", ["json", "markdown", "html"]))
    assert json.loads(files["/r/audit.json"]) == report
    assert files["/r/audit.json"] == json.dumps(report, indent=2) + "\n"
    assert files["/r/audit.md"] == render_markdown(report) and files["/r/audit.html"] == render_html(report)
    with pytest.raises(ValueError, match="one of json, markdown, html"):
        render_report(report, "pdf")


# -- the option -----------------------------------------------------------------------------------------------------
def test_the_option_is_documented_with_its_choices_and_defaults_to_json():
    expected = {"type": "list", "elements": "str", "choices": ["json", "markdown", "html"], "default": ["json"]}
    assert SPEC["pull_secret_audit_report_formats"] == expected


@pytest.mark.parametrize("given, expected", [
    ("markdown", ["markdown"]),  # -e pull_secret_audit_report_formats=markdown
    ("json,markdown,html", ["json", "markdown", "html"]),
    (["html"], ["html"]),
])
def test_the_option_from_the_command_line_or_yaml(given, expected):
    values, errors = options.convert({"pull_secret_audit_report_formats": SPEC["pull_secret_audit_report_formats"]},
                                     {"pull_secret_audit_report_formats": given})
    assert errors == [] and values["pull_secret_audit_report_formats"] == expected


@pytest.mark.parametrize("given", ["md", "json,pdf", ["json", "HTML "]])
def test_a_format_that_does_not_exist_is_told_with_the_choices(given):
    _values, errors = options.convert({"pull_secret_audit_report_formats": SPEC["pull_secret_audit_report_formats"]},
                                      {"pull_secret_audit_report_formats": given})
    assert len(errors) == 1 and "pull_secret_audit_report_formats" in errors[0] and "json, markdown, html" in errors[0]


def _audit_problems(**values):
    base = {"pull_secret_state": "audit", "pull_secret_audit_report_path": "", "pull_secret_audit_report_formats": ["json"]}
    return [p for p in options.check(dict(base, **values), env={}) if "pull_secret_audit_report" in p]


@pytest.mark.parametrize("values, words", [
    ({}, None),
    ({"pull_secret_audit_report_path": "/r/audit.json", "pull_secret_audit_report_formats": ["json", "markdown", "html"]}, None),
    ({"pull_secret_audit_report_formats": ["markdown"]}, ["pull_secret_audit_report_formats", "needs pull_secret_audit_report_path"]),
    ({"pull_secret_audit_report_path": "/r/audit.json", "pull_secret_audit_report_formats": []},
     ["pull_secret_audit_report_formats is empty", "json, markdown, html"]),
    ({"pull_secret_audit_report_path": "/r/audit.md", "pull_secret_audit_report_formats": ["json", "markdown"]},
     ["/r/audit.md", "both", "audit.json"]),
    ({"pull_secret_state": "present", "pull_secret_audit_report_formats": ["markdown"]}, None),  # only the audit writes a report
])
def test_the_formats_are_checked_with_what_to_fix(values, words):
    found = _audit_problems(**values)
    if words is None:
        assert found == []
    else:
        assert len(found) == 1 and all(w in found[0] for w in words), found


# -- the Markdown ---------------------------------------------------------------------------------------------------
def test_markdown_has_a_row_per_cluster_and_namespace_with_its_state():
    markdown = render_markdown(drifted())
    assert markdown.startswith("# Audit of Secret ibm-registry-pull\n")
    assert "- **Verdict:** 4 problem(s)" in markdown
    table = rows(markdown, "Secrets by cluster and namespace")
    assert [(r[0], r[1], r[2]) for r in table] == [
        ("prod-eu", "team-a", "ok"), ("prod-eu", "team-b", "stale"), ("prod-eu", "team-c", "missing"),
        ("prod-us", "team-a", "foreign"), ("prod-us", "team-b", "ok")]
    assert table[0][3:5] == [T1, "default"]
    assert table[1][5] == 'description annotation is "another", expected "ansible-managed ibm-registry-pull"'
    assert (table[2][5], table[3][5]) == ("no Secret of this name", "a Secret of this name not managed by ibm_dedicated.registry")
    assert rows(markdown, "State by namespace and cluster") == [
        ["team-a", "ok", "foreign"], ["team-b", "stale", "ok"], ["team-c", "missing", "\u2014"]]
    assert rows(markdown, "Clusters") == [["prod-eu", "prod-eu-ctx", "https://api.prod-eu.example:6443", "1 ok, 1 stale, 1 missing"],
                                          ["prod-us", "prod-us-ctx", "https://api.prod-us.example:6443", "1 ok, 1 foreign"]]


def test_markdown_lists_the_tokens_and_the_problems():
    markdown = render_markdown(drifted())
    tokens = rows(markdown, "Registry tokens")
    assert tokens == [
        [T1, "ansible-managed ibm-registry-pull", "live", "read-only", "permanent", "2024-12-02T12:00:00Z", "29.5", "yes",
         "prod-eu/team-a, prod-eu/team-b, prod-us/team-b"],
        [T2, "ansible-managed ibm-registry-pull", "live", "read-only", "permanent", "2024-12-31T00:00:00Z", "1.0", "yes", "none"]]
    problems = markdown.split("## Problems\n\n", 1)[1].splitlines()
    assert len(problems) == 4 and all(line.startswith("- ") for line in problems)
    assert "prod-eu/team-c: Secret ibm-registry-pull is missing" in problems[1]
    assert "token %s is live at the registry but no Secret of this play uses it" % T2 in problems[3]


def test_markdown_of_a_report_in_order_and_a_cluster_not_audited():
    tokens = [token(T1, revoked=True), token(T2, expiry=NOW - 86400, readonly=False)]
    eu = part("prod-eu", [], ["team-a"], tokens)
    report = report_of([eu, {"host": "prod-us", "fact": None}], tokens, play_hosts=["prod-eu"])
    markdown = render_markdown(report)
    assert rows(markdown, "Secrets by cluster and namespace")[1] == [
        "prod-us", "\u2014", "not audited", "", "", "could not be audited (see its error above)"]
    assert [(t[2], t[3], t[4], t[7]) for t in rows(markdown, "Registry tokens")] == [
        ("revoked", "read-only", "permanent", "yes"), ("expired", "read-write", "2024-12-31T00:00:00Z", "no (other access)")]
    assert "State by namespace and cluster" not in markdown  # one cluster audited: the first table says it all

    clean = render_markdown(report_of([part("prod-eu", [secret("team-a", jwt(T1), T1)], ["team-a"], [token(T1)])], [token(T1)]))
    assert "- **Verdict:** in order" in clean and clean.endswith("## Problems\n\nNone: everything is in order.\n")
    assert render_markdown(report_of([], [], opts={"credential_type": "iamapikey"})).count("No registry token is listed.") == 1


@pytest.mark.parametrize("value, escaped", [
    ("a|b", "a\\|b"),
    ("back\\slash|", "back\\\\slash\\|"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("two\nlines", "two lines"),
    ("*bold* _it_ `code` [link](x) # & co", "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x) \\# &amp; co"),
    ("pull_secret_name ibm_dedicated.registry", "pull_secret_name ibm_dedicated.registry"),  # inside a word, _ is no markup
])
def test_markdown_escaping(value, escaped):
    assert markdown_escape(value) == escaped


def test_a_description_with_pipes_and_html_stays_one_cell_of_text():
    evil = "team|<script>alert(1)</script>\n| x | y |"
    tokens = [token(T1, description=evil)]
    report = report_of([part("prod-eu", [secret("team-a", jwt(T1), T1, description=evil)], ["team-a"], tokens,
                             opts={"token_description": evil})], tokens, opts={"token_description": evil})
    markdown = render_markdown(report)
    assert "<script>" not in markdown
    table = rows(markdown, "Registry tokens")
    assert len(table) == 1 and len(table[0]) == 9
    assert table[0][1] == "team\\|&lt;script&gt;alert(1)&lt;/script&gt; \\| x \\| y \\|"


# -- the HTML -------------------------------------------------------------------------------------------------------
def test_html_is_one_page_with_the_same_tables():
    page = render_html(drifted())
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    found = parsed(page)
    secrets, matrix, clusters, tokens = found.tables
    assert secrets[0] == ["Cluster", "Namespace", "State", "Token id", "Service accounts", "Details"]
    assert [tuple(r[:3]) for r in secrets[1:]] == [
        ("prod-eu", "team-a", "ok"), ("prod-eu", "team-b", "stale"), ("prod-eu", "team-c", "missing"),
        ("prod-us", "team-a", "foreign"), ("prod-us", "team-b", "ok")]
    assert matrix[1:] == [["team-a", "ok", "foreign"], ["team-b", "stale", "ok"], ["team-c", "missing", "\u2014"]]
    assert [r[0] for r in clusters[1:]] == ["prod-eu", "prod-us"]
    assert [r[0] for r in tokens[1:]] == [T1, T2]
    assert page.count("<li>") == 4
    states = [attrs.get("class") for tag, attrs in found.tags if tag == "td" and attrs.get("class", "").startswith("state-")]
    assert states[:5] == ["state-ok", "state-stale", "state-missing", "state-foreign", "state-ok"]


def test_html_is_self_contained():
    page = render_html(drifted())
    tags = {tag for tag, _attrs in parsed(page).tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "<style>" in page
    assert "http://" not in page and "url(" not in page and "@import" not in page
    assert "https://" not in page.replace("https://api.prod-eu.example:6443", "").replace("https://api.prod-us.example:6443", "")
    assert "default-src 'none'" in page  # nothing could load or run even if a value slipped through


def test_html_escapes_every_value():
    evil = "<script>alert('x')</script>&\"quoted\""
    tokens = [token(T1, description=evil)]
    eu = part("<b>prod</b>", [secret("team-a", jwt(T1), T1, description=evil)], ["team-a"], tokens, opts={"token_description": evil})
    page = render_html(report_of([eu], tokens, opts={"token_description": evil}))
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;quoted&quot;" in page
    found = parsed(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th",
               "td", "ul", "li", "p"}
    assert {tag for tag, _attrs in found.tags} <= allowed
    assert found.tables[0][1][0] == "<b>prod</b>"  # the text as it was, shown as text
    assert evil in found.tables[2][1][1]


# -- never a credential ---------------------------------------------------------------------------------------------
def _canaried():
    """Every place where a credential is in the audit's inputs holds the canary: the token values at the registry, the
    passwords in the Secrets (one that is not the registry's value), a foreign Secret's data, the API key."""
    value = jwt(T1, signature=CANARY)
    tokens = [token(T1, value=value), token(T2, value=jwt(T2, signature=CANARY + "2"))]
    foreign = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": NAME, "namespace": "team-c"},
               "data": {"password": base64.b64encode(CANARY.encode()).decode()}, "stringData": {"password": CANARY}}
    eu = part("prod-eu", [secret("team-a", value, T1), secret("team-b", jwt(T1, signature=CANARY + "-other"), T1), foreign],
              ["team-a", "team-b", "team-c"], tokens, apikey=CANARY)
    iam = part("prod-iam", [secret("team-a", CANARY, "iamapikey")], ["team-a"], [], apikey=CANARY + "-key",
               opts={"docker_username": "iamapikey", "credential_type": "iamapikey"})
    return report_of([eu, iam], tokens), value


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_no_format_ever_holds_a_credential(fmt):
    report, value = _canaried()
    assert any("not token" in d for d in report["clusters"][0]["namespaces"]["team-b"]["differs"])  # the values were compared
    text = render_report(report, fmt)
    for needle in (CANARY, value, base64.b64encode(CANARY.encode()).decode(), value.split(".")[2], json.dumps(CANARY)[1:-1]):
        assert needle not in text


def _canaried_service_id():
    """Credential type service_id: the API key values the Secrets hold are the canary (a live key, a disabled one, one IAM
    does not know); IAM's key list never has a value, and a report that carried one (it never does) shows none."""
    key_opts = {"docker_username": "iamapikey", "credential_type": "service_id", "service_id_name": "sid-" + NAME,
                "apikey_rotate_before_days": 14}
    expires = datetime.datetime.fromtimestamp(NOW + 5 * 86400, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    keys = [{"id": "ApiKey-1", "name": "sid-" + NAME, "created_at": "2024-12-02T12:00:00Z", "expires_at": expires, "state": "live",
             "disabled": False, "locked": True, "last_used_at": "2024-12-31T00:00:00Z"},
            {"id": "ApiKey-2", "name": "sid-" + NAME, "created_at": "2024-12-02T12:00:00Z", "expires_at": None, "state": "disabled",
             "disabled": True, "locked": False}]
    secrets = []
    for namespace, key_id, value in (("team-a", "ApiKey-1", CANARY), ("team-b", "ApiKey-2", CANARY + "-2"), ("team-c", "ApiKey-3", CANARY + "-3")):
        document = docker_config_json(SERVER, "iamapikey", value, None)
        annotations = plan.desired_annotations(key_id, DESCRIPTION, docker_config_fingerprint(document))
        secrets.append(plan.secret_definition(NAME, namespace, annotations, base64.b64encode(document.encode()).decode()))
    eu = audit_cluster("prod-eu", {"context": "eu"}, ["team-a", "team-b", "team-c"], secrets, [], [], dict(OPTS, **key_opts), now=NOW,
                       keys=keys)
    clusters = [{"host": "prod-eu", "fact": {"audit": eu, "done": True, "seen_all": True}}]
    return audit_report(clusters, ["prod-eu"], [], dict(OPTS, **key_opts), now=NOW, keys=keys)


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_no_format_ever_holds_a_service_id_key(fmt):
    report = _canaried_service_id()
    assert [e["status"] for e in report["clusters"][0]["namespaces"].values()] == ["ok", "stale", "stale"]
    assert report["notices"] and report["api_keys"][0]["rotate_due"]  # every section of the keys is rendered
    report["api_keys"][0]["apikey"] = CANARY  # a field the tables do not name
    text = render_report(report, fmt) if fmt != "json" else render_report(_canaried_service_id(), fmt)
    assert "ApiKey-1" in text and "ApiKey-2" in text
    for needle in (CANARY, base64.b64encode(CANARY.encode()).decode(), base64.b64encode(("iamapikey:" + CANARY).encode()).decode()[:20]):
        assert needle not in text


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_the_tables_show_only_the_fields_they_name(fmt):
    """Even a report that carried a value (it never does) would not show it: the tables read the fields they show."""
    report = drifted()
    report["tokens"][0]["token"] = CANARY
    report["clusters"][0]["namespaces"]["team-a"]["password"] = CANARY
    report["clusters"][0]["apikey"] = CANARY
    assert CANARY not in render_report(report, fmt)
