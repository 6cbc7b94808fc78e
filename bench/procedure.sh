#!/usr/bin/env bash
# IBM's Dedicated registry procedure as a plain script: curl for the IBM calls (where the doc uses
# `bx`), the real kubectl for the cluster. Used by bench/run.py as the baseline the role is compared with.
#
#   bench/procedure.sh CONFIG.json
#
# CONFIG.json (mode 0600) holds: api_endpoint, registry_endpoint, registry_host, ca_path, username,
# password, org, description, kubeconfig, context, cache_dir, namespaces (list), secret_name,
# pod (bool), pod_name, pod_image, pod_timeout.
#
# Steps (the doc's, with `bx` replaced):
#   bx login -a api.<domain>         -> GET  <api>/v2/info, POST <uaa>/oauth/token (password grant, cf client)
#   bx iam oauth-tokens              -> "<token_type> <access_token>" from that answer
#   bx iam org <org> --guid          -> GET  <api>/v2/organizations?q=name:<org>
#   curl -XPOST .../api/v1/tokens?permanent=true  (as in the doc; plus &description= to find it again)
#   kubectl create secret docker-registry ... -> the same .dockerconfigjson built with jq into a file,
#       kubectl create secret generic --type=kubernetes.io/dockerconfigjson --from-file=... --dry-run=client -o yaml
#       | kubectl apply -f -      (deviation: --docker-password would put the token on a command line)
#   kubectl apply -f mypod.yaml, then kubectl wait --for=condition=Ready
#       (mypod.yaml says imagePullPolicy: Always, as the role's Pod does: otherwise a node that already has
#       the image would not pull, and nothing would be proven)
#
# No secret ever appears on a command line: curl reads headers and form fields from files
# (-H @file, --data-urlencode name@file), jq reads the token with --rawfile, kubectl reads the
# document with --from-file. Values only pass through bash variables and builtins (printf).
set -euo pipefail

config=${1:?usage: procedure.sh CONFIG.json}
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/procedure.XXXXXX")
trap 'rm -rf "$work"' EXIT

cfg() { jq -r "$1" "$config"; }

api=$(cfg .api_endpoint)
registry=$(cfg .registry_endpoint)
registry_host=$(cfg .registry_host)
ca=$(cfg .ca_path)
username=$(cfg .username)
org=$(cfg .org)
description=$(cfg .description)
secret_name=$(cfg .secret_name)
kubectl_args=(--kubeconfig "$(cfg .kubeconfig)" --context "$(cfg .context)" --cache-dir "$(cfg .cache_dir)")
jq -j .password "$config" >"$work/password"

curl_() { curl -sS --fail-with-body --http1.1 --cacert "$ca" "$@"; }

# bx login: the UAA endpoint from /v2/info, then the password grant as the cf client.
uaa=$(curl_ "$api/v2/info" | jq -r .token_endpoint)
curl_ -u cf: -H 'Accept: application/json' \
    --data-urlencode grant_type=password --data-urlencode "username=$username" \
    --data-urlencode "password@$work/password" --data-urlencode scope= \
    -o "$work/login.json" "$uaa/oauth/token"

# bx iam oauth-tokens: "<type> <token>", kept in a header file.
oauth_token=$(jq -j '.token_type + " " + .access_token' "$work/login.json")
printf 'Authorization: %s\n' "$oauth_token" >"$work/auth.h"

# bx iam org <org> --guid
org_guid=$(curl_ -H "@$work/auth.h" -G --data-urlencode "q=name:$org" "$api/v2/organizations" \
    | jq -r '.resources[0].metadata.guid')
printf 'Organization: %s\n' "$org_guid" >>"$work/auth.h"

# The permanent registry token.
curl_ -X POST -H "@$work/auth.h" -o "$work/token.json" \
    "$registry/api/v1/tokens?permanent=true&description=$(jq -rn --arg d "$description" '$d|@uri')"
jq -j .token "$work/token.json" >"$work/token"

# What `kubectl create secret docker-registry --docker-username=token --docker-password=<token>` puts in
# .dockerconfigjson (no e-mail: the role leaves it out when empty too).
jq -cj -n --rawfile token "$work/token" --arg server "$registry_host" \
    '{auths: {($server): {username: "token", password: $token, auth: ("token:" + $token | @base64)}}}' \
    >"$work/dockerconfig.json"

for namespace in $(cfg '.namespaces[]'); do
    kubectl "${kubectl_args[@]}" --namespace "$namespace" create secret generic "$secret_name" \
        --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson="$work/dockerconfig.json" \
        --dry-run=client -o yaml \
        | kubectl "${kubectl_args[@]}" --namespace "$namespace" apply --validate=false -f - >/dev/null
done

if [ "$(cfg .pod)" = true ]; then
    namespace=$(cfg '.namespaces[0]')
    pod_name=$(cfg .pod_name)
    cat >"$work/mypod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod_name
spec:
  containers:
    - name: hello
      image: $registry_host/$(cfg .pod_image)
      imagePullPolicy: Always
  imagePullSecrets:
    - name: $secret_name
EOF
    kubectl "${kubectl_args[@]}" --namespace "$namespace" apply --validate=false -f "$work/mypod.yaml" >/dev/null
    kubectl "${kubectl_args[@]}" --namespace "$namespace" wait --for=condition=Ready "pod/$pod_name" \
        --timeout="$(cfg .pod_timeout)s" >/dev/null
fi
