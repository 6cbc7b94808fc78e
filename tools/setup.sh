#!/usr/bin/env bash
# One-command set-up for a fresh Debian/Ubuntu machine (see README "Development").
# Safe to run again: every step checks before it acts.
#   - Debian packages the sandbox needs (when run as root; otherwise prints the apt command)
#   - .venv with the pinned development set (requirements/dev.txt)
#   - .collections/: this checkout as ibm_dedicated.registry + kubernetes.core from the `ansible` wheel
#   - ansible-test's pip bootstrap, offline, when its download host is unreachable
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
ANSIBLE_PACKAGE=${ANSIBLE_PACKAGE:-ansible==12.3.0}   # only used as the source of kubernetes.core
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ibm_dedicated.registry
APT_PACKAGES=(docker-registry skopeo shellcheck)

say() { printf '[setup] %s\n' "$*"; }

pip_quiet() {  # pip install, quiet on success, with its whole output on failure
    local python=$1 log
    shift
    log=$(mktemp)
    if ! "$python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        say "pip install $* failed"
        return 1
    fi
    rm -f "$log"
}

install_debian_packages() {
    local missing=()
    command -v docker-registry >/dev/null || missing+=(docker-registry)
    command -v skopeo >/dev/null || missing+=(skopeo)
    command -v shellcheck >/dev/null || missing+=(shellcheck)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${missing[*]}; run:"
        say "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}"
        return 0
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
    # The package enables a registry on all interfaces with its own config; the sandbox runs its own on loopback.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
    if ! command -v kubectl >/dev/null; then
        say "note: kubectl is not installed; the kubectl fidelity tests will be skipped"
    fi
}

make_venv() {
    local stamp="$VENV/.requirements.sha256" want
    want=$(cat requirements/*.txt meta/ee-requirements.txt | sha256sum | cut -c1-64)
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    say "creating $VENV with $($PYTHON --version)"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    pip_quiet "$VENV/bin/python" --upgrade pip
    pip_quiet "$VENV/bin/python" -r requirements/dev.txt
    "$VENV/bin/python" -c 'import ansible, kubernetes, requests, jmespath' 
    echo "$want" > "$stamp"
}

link_collections() {
    local base=.collections/ansible_collections
    mkdir -p "$base/ibm_dedicated" "$base/kubernetes"
    ln -sfn ../../.. "$base/ibm_dedicated/registry"
    if [ ! -f "$base/kubernetes/core/MANIFEST.json" ]; then
        local wheel="$CACHE/${ANSIBLE_PACKAGE/==/-}-py3-none-any.whl"
        mkdir -p "$CACHE"
        if [ ! -f "$wheel" ]; then
            say "downloading $ANSIBLE_PACKAGE (source of kubernetes.core; Galaxy is not needed)"
            "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$CACHE" "$ANSIBLE_PACKAGE" >/dev/null
        fi
        "$VENV/bin/python" tools/extract_collection.py "$wheel" kubernetes/core "$base/.."
    fi
}

offline_get_pip() {
    # ansible-test downloads get-pip from this host; only stand in for it when it cannot be reached.
    local host=ci-files.testing.ansible.com version target
    if "$VENV/bin/python" - "$host" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], 443), timeout=3).close()
except OSError:
    sys.exit(1)
PY
    then return 0; fi
    for version in $("$VENV/bin/python" tools/ansible_test_pip_versions.py); do
        target="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
        if ! cmp -s tools/get_pip_offline.py "$target" 2>/dev/null; then
            mkdir -p "$(dirname "$target")"
            cp tools/get_pip_offline.py "$target"
            say "ansible-test pip bootstrap ($version) served offline: $target"
        fi
    done
}

install_debian_packages
make_venv
link_collections
offline_get_pip
say "ready: $("$VENV/bin/ansible" --version | head -n1), kubernetes.core $("$VENV/bin/python" -c 'import json;print(json.load(open(".collections/ansible_collections/kubernetes/core/MANIFEST.json"))["collection_info"]["version"])')"
