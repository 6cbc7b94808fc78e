#!/usr/bin/env bash
# ansible-test sanity on exactly what `ansible-galaxy collection build` ships, for every Python the collection claims:
#   - controller Pythons (README "Tested with"): the first one found runs every sanity test; the others run the tests
#     whose result depends on the Python version (compile, import, validate-modules, ansible-doc; not pylint, whose
#     findings hardly depend on it and which costs 26 of the 40 s such a run takes);
#   - module-side Pythons (tests/config.yml: modules python_requires) that are not controller Pythons: compile and import.
# A claimed Python missing on this machine is named and skipped (PATH first, then pyenv's versions).
# SANITY_PYTHON=X.Y runs every test on that one Python only (the previous behaviour); extra arguments go to every run.
# ansible-test needs a real .../ansible_collections/ibm_dedicated/registry directory outside any
# git work tree (inside one it says "All targets skipped" and exits 0), with kubernetes.core beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${VENV:-.venv}/bin
CONTROLLER_PYTHONS=${SANITY_CONTROLLER_PYTHONS:-3.11 3.12 3.13}
MODULE_PYTHONS=${SANITY_MODULE_PYTHONS:-3.8 3.9 3.10}
VERSION_TESTS=(--test compile --test import --test validate-modules --test ansible-doc)
MODULE_TESTS=(--test compile --test import)
if [ -n "${SANITY_PYTHON:-}" ]; then
    CONTROLLER_PYTHONS=$SANITY_PYTHON
    MODULE_PYTHONS=
fi
stage=${TMPDIR:-/tmp}/ibm_dedicated.registry-sanity-$(printf '%s' "$PWD" | sha1sum | cut -c1-8)
build=$stage/build
coll=$stage/ansible_collections/ibm_dedicated/registry

find_python() {  # a real interpreter for X.Y: PATH first, then pyenv's versions (its shims may refuse)
    local version=$1 candidate
    for candidate in "python$version" "$HOME"/.pyenv/versions/"$version".*/bin/python"$version" /usr/bin/python"$version"; do
        # the interpreter itself, not a pyenv shim (ansible-test looks for pythonX.Y on PATH)
        if "$candidate" -c 'import venv' >/dev/null 2>&1; then "$candidate" -c 'import sys; print(sys.executable)'; return 0; fi
    done
    return 1
}

rm -rf "$build" "$coll"
mkdir -p "$build" "$coll" "$stage/ansible_collections/kubernetes"
"$BIN/ansible-galaxy" collection build --force --output-path "$build" >/dev/null
tar -xzf "$build"/ibm_dedicated-registry-*.tar.gz -C "$coll"
rm -rf "$stage/ansible_collections/kubernetes/core"
cp -r .collections/ansible_collections/kubernetes/core "$stage/ansible_collections/kubernetes/core"

cd "$coll"
failed=()
skipped=()
summary=()
sanity() {  # sanity X.Y [ansible-test arguments]: one ansible-test run with that Python found first on PATH
    local version=$1 python log rc start
    shift
    if ! python=$(find_python "$version"); then
        echo "[sanity] Python $version: not found on this machine (PATH, ~/.pyenv/versions); skipped" >&2
        skipped+=("$version")
        return 0
    fi
    log=$stage/sanity-$version.log
    start=$SECONDS
    echo "[sanity] Python $version ($python): ansible-test sanity $*"
    set +e
    PATH=$(dirname "$python"):$PATH "$BIN/ansible-test" sanity --venv --python "$version" --color no --skip-test pslint "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    if grep -q "All targets skipped" "$log"; then
        echo "[sanity] ansible-test skipped every target (is the stage inside a git work tree?)" >&2
        rc=1
    fi
    summary+=("Python $version: rc=$rc, $((SECONDS - start)) s")
    if [ "$rc" -ne 0 ]; then failed+=("$version"); fi
}

full_done=
for version in $CONTROLLER_PYTHONS; do
    if [ -z "$full_done" ] && find_python "$version" >/dev/null; then
        sanity "$version" "$@"
        full_done=$version
    else
        sanity "$version" "${VERSION_TESTS[@]}" "$@"
    fi
done
for version in $MODULE_PYTHONS; do
    case " $CONTROLLER_PYTHONS " in *" $version "*) continue ;; esac
    sanity "$version" "${MODULE_TESTS[@]}" "$@"
done

printf '[sanity] %s\n' "${summary[@]}"
if [ -z "$full_done" ]; then
    echo "[sanity] none of the controller Pythons ($CONTROLLER_PYTHONS) was found" >&2
    exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then echo "[sanity] not on this machine, not tested: Python ${skipped[*]}" >&2; fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "[sanity] failed on Python ${failed[*]} (logs: $stage/sanity-X.Y.log)" >&2
    exit 1
fi
