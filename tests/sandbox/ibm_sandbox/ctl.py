"""sandboxctl: start, stop, inspect and perturb the local IBM Cloud Dedicated (+ Kubernetes) sandbox.

See tests/sandbox/README.md for the contract (sandbox.json keys, admin API).
"""

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import image, procs, registry
from .client import AdminClient, AdminError
from .ibm.seed import ensure_seed, org_guid
from .pki import ensure_pki

SANDBOX_ROOT = Path(__file__).resolve().parents[1]  # tests/sandbox
DEFAULT_DIR = SANDBOX_ROOT.parents[1] / ".sandbox"  # the checkout's .sandbox (git-ignored)
SERVICES = ("api", "uaa", "iam", "registry")
READY_TIMEOUT = 20.0
REQUIRED_BINARIES = {"docker-registry": "docker-registry", "skopeo": "skopeo"}  # binary -> Debian package


class SandboxError(Exception):
    """A failure reported to the user as one line, with a non-zero exit."""


class Paths:
    def __init__(self, directory):
        self.root = Path(directory).resolve()
        self.run = self.root / "run"
        self.logs = self.root / "logs"
        self.ibm = self.root / "ibm"
        self.registry = self.root / "registry"
        self.image = self.root / "image"
        self.sandbox_json = self.root / "sandbox.json"
        self.vars_yml = self.root / "vars.yml"
        self.ca = self.root / "ca.crt"
        self.kubeconfig = self.root / "kubeconfig"
        self.pids = procs.PidRecord(str(self.run / "pids.json"))
        self.ports = self.run / "ports.json"

    def log(self, name):
        return str(self.logs / f"{name}.log")

    def make(self):
        for folder in (self.root, self.run, self.logs):
            folder.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _exclusive(paths, timeout=30.0):
    """Serialise sandboxctl invocations on one directory (two `up`s at once must not both start)."""
    paths.make()
    with open(paths.run / "ctl.lock", "w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(f"another sandboxctl holds {paths.run / 'ctl.lock'}") from None
                time.sleep(0.05)
        yield


def _read_json(path, default=None):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def _write_json(path, data, mode=0o600):
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


# -- ports ------------------------------------------------------------------------------
def _listening_socket(preferred):
    """A listening socket on 127.0.0.1, on the previous port when it is still free (clients keep their URLs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", preferred or 0))
    except OSError:
        sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _free_port(preferred):
    """A port for docker-registry, which binds by itself (hence a short race, acceptable on loopback)."""
    with contextlib.closing(_listening_socket(preferred)) as sock:
        return sock.getsockname()[1]


# -- starting -----------------------------------------------------------------------------
def _require_binaries():
    for binary, package in REQUIRED_BINARIES.items():
        if shutil.which(binary) is None:
            raise SandboxError(f"'{binary}' not found on PATH: install the Debian package '{package}'")


def _last_log_line(path):
    try:
        with open(path, errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except FileNotFoundError:
        return "no log"
    return lines[-1] if lines else "no output"


def _backend_answers(port):
    """docker-registry is ready once `/v2/` answers 401 (token auth on)."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).close()
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False
    return False


def _wait_ready(paths, children, admin, backend_port):
    deadline = time.monotonic() + READY_TIMEOUT
    pending = {"ibm": lambda: admin.state() is not None, "docker-registry": lambda: _backend_answers(backend_port)}
    while pending:
        for name, child in children.items():
            if child.poll() is not None:
                raise SandboxError(f"{name} exited during start ({_last_log_line(paths.log(name))}); see {paths.log(name)}")
        for name, probe in list(pending.items()):
            try:
                if probe():
                    del pending[name]
            except (OSError, AdminError, ssl.SSLError):
                pass
        if time.monotonic() > deadline:
            raise SandboxError(f"{', '.join(pending)} did not answer within {READY_TIMEOUT:.0f} s; see {paths.logs}")
        if pending:
            time.sleep(0.02)


@contextlib.contextmanager
def _output_to(log_path):
    """Point fds 1 and 2 at a log file meanwhile: processes started by code we do not own must not inherit
    our stdout (a caller capturing it would wait for their exit)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _start_clusters(paths, count, pki):
    """Kubernetes clusters from ibm_sandbox.kube (written separately); none while that package is absent."""
    if count < 1:
        return []
    try:
        from .kube.launch import start_clusters
    except ModuleNotFoundError as exc:
        if exc.name in ("ibm_sandbox.kube", "ibm_sandbox.kube.launch"):
            return []
        raise
    with _output_to(paths.log("kube")):
        clusters = start_clusters(str(paths.root), count, pki)
    by_pid = {}
    for cluster in clusters:  # one process may serve several clusters
        by_pid.setdefault(cluster["pid"], []).append(cluster["name"])
    for pid, names in by_pid.items():
        paths.pids.add(f"kube[{','.join(names)}]", pid)
    return clusters


def _seed_images(paths, seed, registry_host, admin, cert_dir):
    """Push the seed images unless the registry storage already has them (a restart keeps them)."""
    missing = {}
    for namespace in seed["namespaces"]:
        refs = [ref for ref in namespace["images"] if not registry.has_image(str(paths.registry), ref)]
        if refs:
            missing[namespace["name"]] = (namespace["org"], refs)
    if not missing:
        return False
    layout = image.build_layout(str(paths.image))
    minted = {name: admin.mint_token(org_guid(org), write=True, description="sandbox-seed") for name, (org, _) in missing.items()}
    authfile, policy = str(paths.run / "seed-auth.json"), str(paths.run / "policy.json")
    try:
        image.write_authfile(authfile, registry_host, {name: token["token"] for name, token in minted.items()})
        image.write_policy(policy)
        with open(paths.log("skopeo"), "ab") as log:
            image.push(layout, registry_host, [ref for _, refs in missing.values() for ref in refs], authfile, cert_dir, policy, log)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(authfile)
        for token in minted.values():
            admin.delete_token(token["id"])
    admin.zero_requests()  # the seeding is not something a test did
    return True


def _sandbox_info(paths, seed, endpoints, pki, clusters):
    users = [{key: user[key] for key in ("username", "password", "apikey", "orgs")} for user in seed["users"]]
    first_org = seed["orgs"][0]["name"]
    return {
        "dedicated_domain": seed["dedicated_domain"],
        "api_endpoint": endpoints["api"],
        "uaa_endpoint": endpoints["uaa"],
        "iam_endpoint": endpoints["iam"],
        "registry_endpoint": endpoints["registry"],
        "registry_host": endpoints["registry"].split("://", 1)[1],
        "ca_path": str(paths.ca),
        "cert_dir": pki["cert_dir"],
        "admin_url": endpoints["api"] + "/_sandbox",
        "users": users,
        "orgs": [{"name": org["name"], "guid": org["guid"]} for org in seed["orgs"]],
        "images": [ref for ns in seed["namespaces"] if ns["org"] == first_org for ref in ns["images"]],
        "namespaces": [{"name": ns["name"], "org": ns["org"], "images": ns["images"]} for ns in seed["namespaces"]],
        "kubeconfig": str(paths.kubeconfig) if clusters else None,
        "clusters": [{key: c.get(key) for key in ("name", "context", "server", "admin_url", "restricted_context")} for c in clusters],
        "dir": str(paths.root),
    }


def _vars(info, paths):
    """Extra vars for `ansible-playbook playbooks/pull_secret.yml -e @DIR/vars.yml`."""
    return {
        "pull_secret_dedicated_domain": info["dedicated_domain"],
        "pull_secret_api_endpoint": info["api_endpoint"],
        "pull_secret_registry_endpoint": info["registry_endpoint"],
        "pull_secret_iam_endpoint": info["iam_endpoint"],
        "pull_secret_username": info["users"][0]["username"],
        "pull_secret_password": info["users"][0]["password"],
        "pull_secret_org": info["orgs"][0]["name"],
        "pull_secret_ca_path": info["ca_path"],
        # The role derives the docker server (the registry host) from the registry endpoint, and the Pod's
        # image from that host plus this path inside the registry, as in the procedure's mypod.yaml.
        "pull_secret_pod_image": info["images"][0],
        "pull_secret_kubeconfig": str(paths.kubeconfig),
        "pull_secret_context": info["clusters"][0]["context"] if info["clusters"] else "sandbox-1",
        "pull_secret_namespaces": ["default"],
        "pull_secret_name": "ibm-registry-pull",
        "pull_secret_pod_name": "ibm-registry-pull-check",
        "pull_secret_pod_container_name": "hello",
    }


def _write_vars(path, data):
    try:
        import yaml
    except ImportError:  # JSON is valid YAML
        _write_json(path, data)
        return
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Written by sandboxctl up: extra vars for playbooks/pull_secret.yml against this sandbox.\n")
        yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)
    os.replace(tmp, path)


def _start(paths, clusters_wanted, children):
    pki = ensure_pki(str(paths.root))
    shutil.copyfile(pki["ca_cert"], paths.ca)
    seed = ensure_seed(str(paths.ibm))
    registry.ensure_signing_cert(str(paths.registry))

    previous = _read_json(paths.ports, {})
    sockets = {name: _listening_socket(previous.get(name)) for name in SERVICES}
    endpoints = {name: f"https://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    backend_port = _free_port(previous.get("backend"))
    _write_json(paths.ports, {**{name: sock.getsockname()[1] for name, sock in sockets.items()}, "backend": backend_port})
    config = registry.write_config(str(paths.registry), backend_port, endpoints["registry"] + "/oauth/token",
                                   f"registry.{seed['dedicated_domain']}")

    listen = ",".join(f"{name}={sock.fileno()}" for name, sock in sockets.items())
    try:
        children["ibm"] = procs.start_detached(
            [sys.executable, "-m", "ibm_sandbox.ibm", "--dir", str(paths.root), "--listen", listen, "--backend-port", str(backend_port)],
            paths.log("ibm"), cwd=str(SANDBOX_ROOT), pass_fds=[sock.fileno() for sock in sockets.values()])
    finally:
        for sock in sockets.values():
            sock.close()  # the service process holds them now
    paths.pids.add("ibm", children["ibm"].pid)
    children["docker-registry"] = procs.start_detached(["docker-registry", "serve", config], paths.log("docker-registry"))
    paths.pids.add("docker-registry", children["docker-registry"].pid)

    clusters = _start_clusters(paths, clusters_wanted, pki)  # the IBM side boots meanwhile
    admin = AdminClient(endpoints["api"] + "/_sandbox", str(paths.ca))
    _wait_ready(paths, children, admin, backend_port)
    _seed_images(paths, seed, endpoints["registry"].split("://", 1)[1], admin, pki["cert_dir"])

    info = _sandbox_info(paths, seed, endpoints, pki, clusters)
    _write_json(paths.sandbox_json, info)
    _write_vars(paths.vars_yml, _vars(info, paths))
    return info


def cmd_up(args):
    paths = Paths(args.dir)
    with _exclusive(paths):
        running = paths.pids.alive()
        if running:
            pids = " ".join(str(entry["pid"]) for entry in running)
            raise SandboxError(f"a sandbox is already running in {paths.root} (pids {pids}); run 'sandboxctl down --dir {paths.root}' first")
        paths.pids.clear()
        _require_binaries()
        children = {}
        try:
            info = _start(paths, args.clusters, children)
        except BaseException as exc:
            procs.stop(paths.pids.load())
            for child in children.values():
                child.poll()  # reap our own children
            paths.pids.clear()
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc) if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"
            raise SandboxError(f"start failed: {reason} (everything started was stopped)") from exc
    elapsed = procs.own_age()  # from the start of `sandboxctl up` itself, Python start-up included
    clusters = f", {len(info['clusters'])} cluster(s)" if info["clusters"] else ""
    print(f"sandbox up in {elapsed:.2f} s (start to ready){clusters}: {paths.sandbox_json}")


def cmd_down(args):
    paths = Paths(args.dir)
    with _exclusive(paths):
        entries = paths.pids.alive()
        if not entries:
            paths.pids.clear()
            print(f"no sandbox running in {paths.root}")
            return 0
        killed = procs.stop(entries)
        paths.pids.clear()
    hard = f" ({len(killed)} needed SIGKILL)" if killed else ""
    print(f"sandbox stopped: {len(entries)} process(es){hard}")
    return 0


def _running_info(paths):
    if not paths.pids.alive():
        raise SandboxError(f"no sandbox running in {paths.root}: run 'sandboxctl up --dir {paths.root}'")
    return _read_json(paths.sandbox_json)


def _admin(args):
    info = _running_info(Paths(args.dir))
    return AdminClient(info["admin_url"], info["ca_path"])


def _print_json(data):
    print(json.dumps(data, indent=2, sort_keys=True))


def cmd_status(args):
    paths = Paths(args.dir)
    entries = paths.pids.alive()
    if not entries:
        print(f"not running ({paths.root})")
        return 3
    info = _read_json(paths.sandbox_json, {})
    print(f"running ({paths.root}): " + ", ".join(f"{e['name']}={e['pid']}" for e in entries))
    for key in ("api_endpoint", "uaa_endpoint", "iam_endpoint", "registry_endpoint", "admin_url", "kubeconfig"):
        print(f"  {key}: {info.get(key)}")
    return 0


def cmd_state(args):
    _print_json(_admin(args).state())


def cmd_reset(args):
    _admin(args).reset()
    print("sandbox state reset")


def cmd_fault(args):
    admin = _admin(args)
    if args.clear:
        admin.clear_faults()
        print("faults cleared")
        return
    if args.list:
        _print_json(admin.state()["faults"])
        return
    if not args.action:
        raise SandboxError("fault: --action is required (or --clear / --list)")
    spec = {key: value for key, value in {
        "service": args.service, "method": args.method, "path": args.path, "action": args.action, "count": args.count,
        "fraction": args.fraction, "status": args.status, "retry_after": args.retry_after, "seconds": args.seconds,
    }.items() if value is not None}
    _print_json(admin.add_fault(**spec))


def cmd_config(args):
    changes = {}
    if args.uaa_token_lifetime is not None:
        changes["uaa_token_lifetime"] = args.uaa_token_lifetime
    if args.token_creation_discontinued is not None:
        changes["token_creation_discontinued"] = args.token_creation_discontinued == "true"
    _print_json(_admin(args).config(**changes) if changes else _admin(args).call("GET", "config"))


def cmd_passcode(args):
    print(_admin(args).passcode(args.user))


def cmd_revoke(args):
    _admin(args).revoke(args.token_id)
    print(f"token {args.token_id} revoked")


def _parser():
    parser = argparse.ArgumentParser(prog="sandboxctl", description="Local IBM Cloud Dedicated + Kubernetes sandbox.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help_text):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--dir", default=str(DEFAULT_DIR), help=f"sandbox directory (default {DEFAULT_DIR})")
        sub.set_defaults(func=func)
        return sub

    up = command("up", cmd_up, "start everything; returns when every service answers")
    up.add_argument("--clusters", type=int, default=1, help="number of Kubernetes clusters (default 1)")
    command("down", cmd_down, "stop the processes this sandbox started")
    command("status", cmd_status, "show whether the sandbox runs (exit 3 when it does not)")
    command("state", cmd_state, "print the IBM admin state (tokens without values, request counts, faults)")
    command("reset", cmd_reset, "forget tokens, request counts, faults and config changes")
    fault = command("fault", cmd_fault, "add a fault (or --clear / --list)")
    fault.add_argument("--service", choices=["api", "uaa", "iam", "registry", "any"])
    fault.add_argument("--method")
    fault.add_argument("--path", help="prefix of the request path")
    fault.add_argument("--action", choices=["status", "html", "truncated", "delay", "drop", "create_then_drop"])
    fault.add_argument("--count", type=int)
    fault.add_argument("--fraction", type=float)
    fault.add_argument("--status", type=int)
    fault.add_argument("--retry-after", type=int)
    fault.add_argument("--seconds", type=float)
    fault.add_argument("--clear", action="store_true", help="remove every fault")
    fault.add_argument("--list", action="store_true", help="print the active faults")
    config = command("config", cmd_config, "change behaviour (no option: print the config)")
    config.add_argument("--uaa-token-lifetime", type=int, metavar="SECONDS")
    config.add_argument("--token-creation-discontinued", choices=["true", "false"])
    passcode = command("passcode", cmd_passcode, "print a single-use UAA one-time passcode for a user")
    passcode.add_argument("--user", required=True)
    revoke = command("revoke", cmd_revoke, "revoke a registry token behind the client's back")
    revoke.add_argument("token_id")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (SandboxError, AdminError) as exc:
        print(f"sandboxctl {args.command}: {exc}", file=sys.stderr)
        return 1
