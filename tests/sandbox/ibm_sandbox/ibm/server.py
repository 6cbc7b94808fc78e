"""Entry point of the IBM services process, started by sandboxctl.

sandboxctl binds the listening sockets (so ports are known, and race-free, before anything
starts) and hands them over as inherited file descriptors: `--listen api=5,uaa=6,...`.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading

from .admin import Admin
from .cloud_controller import CloudController
from .iam import IAM
from .iam_identity import IAMIdentity
from .iam_policy import IAMPolicy
from .identity import Identity
from .registry_api import RegistryTokens
from .registry_front import RegistryFront
from .seed import Directory, ensure_seed
from .store import Store
from .token_service import TokenService
from .uaa import UAA
from .web import TLSServer, server_ssl_context

SERVICES = ("api", "uaa", "iam", "registry")
log = logging.getLogger("ibm_sandbox")


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog="ibm_sandbox.ibm")
    parser.add_argument("--dir", required=True, help="sandbox directory")
    parser.add_argument("--listen", required=True, help="api=FD,uaa=FD,iam=FD,registry=FD (inherited listening sockets)")
    parser.add_argument("--backend-port", type=int, required=True, help="loopback port of docker-registry")
    return parser.parse_args(argv)


def build_servers(sandbox_dir, sockets, backend_port):
    """One TLSServer per service, sharing the seed directory and the state store."""
    pki_dir = os.path.join(sandbox_dir, "pki")
    registry_dir = os.path.join(sandbox_dir, "registry")
    directory = Directory(ensure_seed(os.path.join(sandbox_dir, "ibm")))
    store = Store(os.path.join(sandbox_dir, "ibm", "state.json"))
    identity = Identity(directory, store)
    endpoints = {name: f"https://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    registry_tokens = RegistryTokens(directory, identity, store)
    iam_identity = IAMIdentity(directory, identity, store)
    iam_policy = IAMPolicy(directory, identity, store)
    token_service = TokenService(directory, registry_tokens, os.path.join(registry_dir, "signing.key"), os.path.join(registry_dir, "signing.crt"),
                                 iam_identity, iam_policy, store)
    services = {
        "api": CloudController(directory, identity, endpoints),
        "uaa": UAA(directory, identity, store, endpoints),
        "iam": IAM(directory, identity, store, iam_identity, iam_policy),
        "registry": RegistryFront(registry_tokens, token_service, backend_port),
    }
    context = server_ssl_context(os.path.join(pki_dir, "server.crt"), os.path.join(pki_dir, "server.key"))
    admin = Admin(directory, store, registry_tokens, iam_identity)
    servers = [TLSServer(sockets[name], context, services[name], store, admin if name == "api" else None) for name in SERVICES]
    return servers, store


def main(argv=None):
    args = _parse_args(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    fds = dict(item.split("=") for item in args.listen.split(","))
    sockets = {name: socket.socket(fileno=int(fds[name])) for name in SERVICES}
    servers, store = build_servers(os.path.abspath(args.dir), sockets, args.backend_port)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    log.info("IBM services ready: %s", ", ".join(f"{s.service.name}={s.server_address[1]}" for s in servers))
    while not stopping.wait(0.5):
        pass
    for server in servers:
        server.shutdown()
    store.close()
    log.info("IBM services stopped")
