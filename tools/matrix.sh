#!/usr/bin/env bash
# Compatibility matrix: the lowest and the newest ansible-core this collection claims (meta/runtime.yml), and the
# lowest kubernetes.core it claims (galaxy.yml dependencies), each in its own venv: the unit tests and one end-to-end
# role run against the sandbox.
# The main ansible-core (2.19 on Python 3.11, kubernetes.core from .collections) runs everything through `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# name  python  ansible-core  [kubernetes.core: the `ansible` release on PyPI that ships it, and its version]
# No `ansible` release ships kubernetes.core 3.0.0 (9.x ships 2.4.x, 10.0.0a1 3.0.1, 10.0.0rc1 and later 3.1.0 and up):
# 3.0.1 is the lowest 3.x that can be tested without Galaxy, hence galaxy.yml's floor.
MATRIX=(
    "core-2.16 3.11 ansible-core==2.16.19"
    "core-2.21 3.12 ansible-core==2.21.5"
    "core-2.16 3.11 ansible-core==2.16.19 ansible==10.0.0a1 3.0.1"
)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ibm_dedicated.registry
E2E_TEST=${E2E_TEST:-tests/integration/role/test_pull_secret.py::test_full_run_then_idempotent}

find_python() {  # a real interpreter for X.Y: PATH first, then pyenv's versions (its shims may refuse)
    local version=$1 candidate
    for candidate in "python$version" "$HOME"/.pyenv/versions/"$version".*/bin/python"$version" /usr/bin/python"$version"; do
        if "$candidate" -c 'import venv' >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}

kubernetes_core_tree() {  # kubernetes_core_tree ANSIBLE_SPEC VERSION: a copy of the checkout with that kubernetes.core
    # The tests run ansible-playbook with the checkout's ansible.cfg (collections_path = .collections), so another
    # kubernetes.core needs its own copy of the work tree (git's files, committed or not) with its own .collections.
    local spec=$1 version=$2 base tree wheel found
    base=.venvs/kubernetes.core-$version
    tree=$base/tree
    wheel="$CACHE/${spec/==/-}-py3-none-any.whl"
    if [ ! -f "$base/ansible_collections/kubernetes/core/MANIFEST.json" ]; then
        if [ ! -f "$wheel" ]; then
            mkdir -p "$CACHE"
            echo "[matrix] downloading $spec (source of kubernetes.core $version)" >&2
            "$PWD/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps -d "$CACHE" "$spec" >/dev/null
        fi
        rm -rf "$base/ansible_collections"
        "$PWD/.venv/bin/python" tools/extract_collection.py "$wheel" kubernetes/core "$base" >/dev/null
    fi
    found=$("$PWD/.venv/bin/python" -c 'import json,sys;print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
        "$base/ansible_collections/kubernetes/core/MANIFEST.json")
    if [ "$found" != "$version" ]; then
        echo "[matrix] $spec ships kubernetes.core $found, not $version" >&2
        return 1
    fi
    rm -rf "$tree"
    mkdir -p "$tree/.collections/ansible_collections/ibm_dedicated" "$tree/.collections/ansible_collections/kubernetes"
    git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$tree"
    ln -sfn ../../.. "$tree/.collections/ansible_collections/ibm_dedicated/registry"
    ln -sfn "$PWD/$base/ansible_collections/kubernetes/core" "$tree/.collections/ansible_collections/kubernetes/core"
    echo "$tree"
}

for entry in "${MATRIX[@]}"; do
    if [ -n "${MATRIX_ONLY:-}" ] && [[ "$entry" != *"$MATRIX_ONLY"* ]]; then continue; fi  # e.g. MATRIX_ONLY=core-2.21
    read -r name version core k8s_spec k8s_version <<<"$entry"
    venv=.venvs/$name
    label=$name
    if ! python=$(find_python "$version"); then
        echo "[matrix] $name: no Python $version on this machine; skipped" >&2
        continue
    fi
    want=$( (cat requirements/test.txt meta/ee-requirements.txt; echo "$core $python") | sha256sum | cut -c1-64)
    if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
        echo "[matrix] $name: creating $venv ($("$python" --version), $core)"
        rm -rf "$venv"
        "$python" -m venv "$venv"
        log=$(mktemp)
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$core" -r requirements/test.txt >"$log" 2>&1; then
            cat "$log" >&2
            echo "[matrix] $name: pip install failed" >&2
            exit 1
        fi
        rm -f "$log"
        echo "$want" > "$venv/.stamp"
    fi
    root=$PWD
    collections=$PWD/.collections
    if [ -n "${k8s_spec:-}" ]; then
        root=$PWD/$(kubernetes_core_tree "$k8s_spec" "$k8s_version")
        collections=$root/.collections
        label="$name + kubernetes.core $k8s_version"
    fi
    start=$SECONDS
    echo "[matrix] $label: $("$venv/bin/ansible" --version | head -n1) on $("$venv/bin/python" --version)," \
        "kubernetes.core $("$venv/bin/python" -c 'import json,sys;print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
        "$collections/ansible_collections/kubernetes/core/MANIFEST.json")"
    bin=$PWD/$venv/bin
    (cd "$root" && PATH=$bin:$PATH ANSIBLE_COLLECTIONS_PATH=$collections PYTHONPATH=$collections \
        ANSIBLE_CONFIG=$root/ansible.cfg "$bin/python" -m pytest -q -p no:cacheprovider \
        -n "${PYTEST_WORKERS:-2}" tests/unit "$E2E_TEST")
    echo "[matrix] $label: $((SECONDS - start)) s"
done
