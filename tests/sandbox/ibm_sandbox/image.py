"""A tiny deterministic OCI image, built in Python (no network), and its push with skopeo."""

import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

from .ibm.seed import write_private_json

REF_NAME = "seed"
EPOCH = "1970-01-01T00:00:00Z"
MESSAGE = b"hello from the ibm_dedicated.registry sandbox\n"


def _layer_tar():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(MESSAGE), 0o644, 0
        tar.addfile(info, io.BytesIO(MESSAGE))
    return buffer.getvalue()


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put_blob(layout_dir, data):
    path = os.path.join(layout_dir, "blobs", "sha256", _digest(data).split(":")[1])
    with open(path, "wb") as handle:
        handle.write(data)
    return {"digest": _digest(data), "size": len(data)}


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def build_layout(layout_dir):
    """Write an OCI image layout holding one image tagged `seed`; the same bytes every time."""
    os.makedirs(os.path.join(layout_dir, "blobs", "sha256"), exist_ok=True)
    tar = _layer_tar()
    layer = _put_blob(layout_dir, gzip.compress(tar, mtime=0))
    config = _put_blob(layout_dir, _json_bytes({
        "architecture": "amd64", "os": "linux", "created": EPOCH,
        "config": {"Cmd": ["/bin/cat", "/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(tar)]},
        "history": [{"created": EPOCH, "created_by": "ibm_sandbox image.py"}],
    }))
    manifest = _put_blob(layout_dir, _json_bytes({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }))
    with open(os.path.join(layout_dir, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(layout_dir, "index.json"), "w") as handle:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
            "annotations": {"org.opencontainers.image.ref.name": REF_NAME},
        }]}, handle)
    return layout_dir


def write_authfile(path, registry_host, credentials):
    """containers-auth.json with one `token:<value>` entry per namespace (keys may carry a repo prefix)."""
    auths = {}
    for namespace, token in credentials.items():
        auths[f"{registry_host}/{namespace}"] = {"auth": base64.b64encode(f"token:{token}".encode()).decode()}
    write_private_json(path, {"auths": auths})


def write_policy(path):
    """Signature policy accepting anything, so skopeo does not depend on /etc/containers/policy.json."""
    with open(path, "w") as handle:
        json.dump({"default": [{"type": "insecureAcceptAnything"}]}, handle)


def push(layout_dir, registry_host, references, authfile, cert_dir, policy, log):
    """skopeo copy of the layout to every `repo:tag`; credentials only via the authfile, never argv."""
    for reference in references:
        command = ["skopeo", "--policy", policy, "copy", "--quiet", "--dest-authfile", authfile, "--dest-cert-dir", cert_dir,
                   f"oci:{layout_dir}:{REF_NAME}", f"docker://{registry_host}/{reference}"]
        result = subprocess.run(command, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        log.write(result.stdout)
        if result.returncode != 0:
            lines = result.stdout.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"skopeo could not push {reference}: {lines[-1] if lines else 'no output'}")
