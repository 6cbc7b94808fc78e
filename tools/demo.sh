#!/usr/bin/env bash
# `make demo`: start the sandbox (if needed) and run the main playbook against it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$PWD/.sandbox}
BIN=$PWD/${VENV:-.venv}/bin
if ! "$BIN/python" tests/sandbox/sandboxctl status --dir "$dir" >/dev/null 2>&1; then
    "$BIN/python" tests/sandbox/sandboxctl up --dir "$dir"
fi
"$BIN/ansible-playbook" playbooks/pull_secret.yml -e @"$dir/vars.yml"
kubeconfig=$("$BIN/python" -c 'import json,sys;print(json.load(open(sys.argv[1]))["kubeconfig"])' "$dir/sandbox.json")
cat <<MSG

The sandbox keeps running. Look around:
  kubectl --kubeconfig $kubeconfig --context sandbox-1 get secret,pod -n default
  tests/sandbox/sandboxctl state --dir $dir          # tokens at the registry (values never shown)
Run the playbook again: nothing changes (changed=0). Stop the sandbox: make demo-down
MSG
