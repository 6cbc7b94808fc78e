#!/usr/bin/env bash
# Compatibility matrix: the lowest and the newest ansible-core this collection claims (meta/runtime.yml),
# each in its own venv, run the unit tests and one end-to-end role run against the sandbox.
# The main ansible-core (2.19 on Python 3.11) runs everything through `make test` itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# name  python  ansible-core
MATRIX=(
    "core-2.16 3.11 ansible-core==2.16.19"
    "core-2.21 3.12 ansible-core==2.21.5"
)
E2E_TEST=${E2E_TEST:-tests/integration/role/test_pull_secret.py::test_full_run_then_idempotent}

find_python() {  # a real interpreter for X.Y: PATH first, then pyenv's versions (its shims may refuse)
    local version=$1 candidate
    for candidate in "python$version" "$HOME"/.pyenv/versions/"$version".*/bin/python"$version" /usr/bin/python"$version"; do
        if "$candidate" -c 'import venv' >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    return 1
}

for entry in "${MATRIX[@]}"; do
    read -r name version core <<<"$entry"
    venv=.venvs/$name
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
    echo "[matrix] $name: $("$venv/bin/ansible" --version | head -n1) on $("$venv/bin/python" --version)"
    PATH=$PWD/$venv/bin:$PATH "$venv/bin/python" -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" tests/unit "$E2E_TEST"
done
