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
# The commands below are printed ready to paste from this directory (tests/integration/test_demo_commands.py runs them).
q=$(printf '%q' "$dir")
play="${VENV:-.venv}/bin/ansible-playbook"
kubeconfig=$("$BIN/python" -c 'import json,sys;print(json.load(open(sys.argv[1]))["kubeconfig"])' "$dir/sandbox.json")
cat <<MSG

The sandbox keeps running. Look around:
  kubectl --kubeconfig $kubeconfig --context sandbox-1 get secret,pod -n default
  tests/sandbox/sandboxctl state --dir $dir          # tokens at the registry (values never shown)
Run the playbook again: nothing changes (changed=0). The other playbooks, against the same sandbox:
  $play playbooks/audit.yml -e @$q/vars.yml -e pull_secret_audit_report_path=$q/audit.json
  $play playbooks/rotate.yml -e @$q/vars.yml
  $play playbooks/revoke.yml -e @$q/vars.yml
(audit: read-only report, also as JSON; rotate: new token everywhere, proven, then the old one revoked;
revoke: removes the Pod, Secret and service account entry, then revokes the token; \`make demo\` puts them back.)
Stop the sandbox: make demo-down
MSG
