"""The command-line clients of the IBM procedure (curl, kubectl, skopeo), driven from tests.

Secrets never go on a command line: curl reads headers and bodies from files (`-H @file`,
`--data-binary @file`), skopeo reads an authfile. The one exception is kubectl's
`--docker-password`, which the procedure itself prescribes (sandbox tokens only).
"""

import base64
import itertools
import json
import os
import subprocess
import time
from urllib.parse import urlencode

from . import image
from .ibm.seed import write_private_json


class CurlResult:
    def __init__(self, exit_code, status, headers, body, seconds):
        self.exit_code = exit_code  # 0, or curl's error (52: empty reply, the connection was dropped)
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self.seconds = seconds

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"CurlResult(exit={self.exit_code}, status={self.status}, body={self.body[:300]!r})"


def _parse_headers(raw):
    headers = {}
    for line in raw.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


class Curl:
    def __init__(self, ca_path, workdir):
        self.ca_path = ca_path
        self.workdir = workdir
        self._counter = itertools.count()
        os.makedirs(workdir, exist_ok=True)

    def _file(self, suffix, content=b""):
        path = os.path.join(self.workdir, f"curl-{os.getpid()}-{next(self._counter)}.{suffix}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode() if isinstance(content, str) else content)
        return path

    def request(self, method, url, headers=None, data=None, basic=None, timeout=20):
        """One curl call. `headers` (dict), `data` (str/bytes, sent as is) and `basic` (user, password) go through files."""
        header_lines = [f"{name}: {value}" for name, value in (headers or {}).items()]
        if basic:
            header_lines.append("Authorization: Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode())
        body_path, dump_path = self._file("body"), self._file("headers")
        argv = ["curl", "-sS", "--http1.1", "--cacert", self.ca_path, "-X", method, "-o", body_path, "-D", dump_path,
                "-w", "%{http_code}", "--max-time", str(timeout)]
        if header_lines:
            argv += ["-H", "@" + self._file("h", "\n".join(header_lines) + "\n")]
        if data is not None:
            argv += ["--data-binary", "@" + self._file("data", data)]
        started = time.monotonic()
        done = subprocess.run([*argv, url], check=False, capture_output=True, text=True, timeout=timeout + 5)
        seconds = time.monotonic() - started
        with open(body_path, "rb") as handle:
            body = handle.read().decode("utf-8", "replace")
        with open(dump_path) as handle:
            # With `Expect: 100-continue` or redirects the dump holds several blocks: keep the last.
            raw = handle.read().strip().split("\r\n\r\n")[-1]
        return CurlResult(done.returncode, int(done.stdout or 0), _parse_headers(raw), body, seconds)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)


def docker_registry_secret(server, username, password, email="dev@example.test"):
    """`kubectl create secret docker-registry --dry-run=client -o json`; returns the decoded .dockerconfigjson."""
    argv = ["kubectl", "create", "secret", "docker-registry", "ibm-registry-pull", f"--docker-server={server}",
            f"--docker-username={username}", f"--docker-password={password}", f"--docker-email={email}",
            "--dry-run=client", "-o", "json"]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, "KUBECONFIG": "/dev/null"}, timeout=30)
    secret = json.loads(done.stdout)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))


class Skopeo:
    def __init__(self, cert_dir, workdir):
        self.cert_dir = cert_dir
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.policy = os.path.join(workdir, "policy.json")
        image.write_policy(self.policy)

    def authfile(self, dockerconfig, name="auth.json"):
        path = os.path.join(self.workdir, name)
        write_private_json(path, dockerconfig)
        return path

    def token_authfile(self, registry_host, username, password, name="auth.json"):
        """An authfile like kubectl writes it (auth = base64(user:password))."""
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        return self.authfile({"auths": {registry_host: {"username": username, "password": password, "auth": auth}}}, name)

    def _run(self, argv):
        done = subprocess.run(["skopeo", "--policy", self.policy, *argv], check=False, capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr

    def inspect(self, reference, authfile):
        return self._run(["inspect", "--authfile", authfile, "--cert-dir", self.cert_dir, f"docker://{reference}"])

    def push(self, reference, authfile):
        layout = image.build_layout(os.path.join(self.workdir, "layout"))
        return self._run(["copy", "--quiet", "--dest-authfile", authfile, "--dest-cert-dir", self.cert_dir,
                          f"oci:{layout}:{image.REF_NAME}", f"docker://{reference}"])


class Procedure:
    """The steps of IBM's Dedicated procedure as curl calls against one sandbox (`info` = sandbox.json)."""

    def __init__(self, info, workdir):
        self.info = info
        self.curl = Curl(info["ca_path"], os.path.join(workdir, "curl"))
        self.skopeo = Skopeo(info["cert_dir"], os.path.join(workdir, "skopeo"))

    def uaa_endpoint(self):
        return self.curl.get(self.info["api_endpoint"] + "/v2/info").json()["token_endpoint"]

    def uaa_login(self, user, **extra):
        """UAA password grant as the cf client; returns the CurlResult."""
        form = {"grant_type": "password", "username": user["username"], "password": user["password"], "scope": "", **extra}
        return self.uaa_grant(form)

    def uaa_grant(self, form):
        return self.curl.post(self.uaa_endpoint() + "/oauth/token", basic=("cf", ""), data=urlencode(form),
                              headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})

    def oauth_token(self, user):
        """What `bx iam oauth-tokens` printed on its UAA line: `Bearer <jwt>`."""
        answer = self.uaa_login(user)
        assert answer.status == 200, answer
        return "Bearer " + answer.json()["access_token"]

    def org_guid(self, authorization, name):
        answer = self.curl.get(f"{self.info['api_endpoint']}/v2/organizations?q=name:{name}", headers={"Authorization": authorization})
        assert answer.status == 200, answer
        return answer.json()["resources"][0]["metadata"]["guid"]

    def tokens(self, method, authorization, org, suffix="", query=""):
        """A call of the registry token API with the Dedicated headers."""
        url = f"{self.info['registry_endpoint']}/api/v1/tokens{suffix}{'?' + query if query else ''}"
        return self.curl.request(method, url, headers={"Authorization": authorization, "Organization": org})

    def registry_token(self, user=None, org_index=0, query="permanent=true"):
        """Steps 1-4 of the procedure: a registry token for the user's org; returns the JWT."""
        user = user or self.info["users"][0]
        authorization = self.oauth_token(user)
        answer = self.tokens("POST", authorization, self.org_guid(authorization, self.info["orgs"][org_index]["name"]), query=query)
        assert answer.status == 200, answer
        return answer.json()["token"]

    def pull_check(self, reference, username, password):
        """skopeo inspect with a kubectl-made .dockerconfigjson as authfile: (exit code, output)."""
        dockerconfig = docker_registry_secret(self.info["registry_host"], username, password)
        return self.skopeo.inspect(f"{self.info['registry_host']}/{reference}", self.skopeo.authfile(dockerconfig))
