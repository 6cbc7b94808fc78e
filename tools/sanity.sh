#!/usr/bin/env bash
# ansible-test sanity on exactly what `ansible-galaxy collection build` ships.
# ansible-test needs a real .../ansible_collections/ibm_dedicated/registry directory outside any
# git work tree (inside one it says "All targets skipped" and exits 0), with kubernetes.core beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${VENV:-.venv}/bin
PY=${SANITY_PYTHON:-$("$BIN/python" -c 'import sys;print("%d.%d" % sys.version_info[:2])')}
stage=${TMPDIR:-/tmp}/ibm_dedicated.registry-sanity-$(printf '%s' "$PWD" | sha1sum | cut -c1-8)
build=$stage/build
coll=$stage/ansible_collections/ibm_dedicated/registry

rm -rf "$build" "$coll"
mkdir -p "$build" "$coll" "$stage/ansible_collections/kubernetes"
"$BIN/ansible-galaxy" collection build --force --output-path "$build" >/dev/null
tar -xzf "$build"/ibm_dedicated-registry-*.tar.gz -C "$coll"
rm -rf "$stage/ansible_collections/kubernetes/core"
cp -r .collections/ansible_collections/kubernetes/core "$stage/ansible_collections/kubernetes/core"

cd "$coll"
log=$stage/sanity.log
set +e
"$BIN/ansible-test" sanity --venv --python "$PY" --color no --skip-test pslint "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if grep -q "All targets skipped" "$log"; then
    echo "sanity: ansible-test skipped every target (is the stage inside a git work tree?)" >&2
    exit 1
fi
exit "$rc"
