# -*- coding: utf-8 -*-
# Copyright (c) ibm_dedicated.registry contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One step of the pull_secret role in one cluster (documentation: plugins/modules/pull_secret_cluster.py).

Runs on the controller, in the worker process; every Kubernetes call is kubernetes.core's (``_kube.Kube``): writes are
its modules, reads its k8s_info code in this process when it can (``_kube_local``).
The decisions are in plugins/plugin_utils/_pull_secret_*.py. Facts and results never hold a credential: the
credential is read from the variable the role registered it in, used to build the Secrets, and dropped.
"""

import collections
import datetime
import os
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.ibm_dedicated.registry.plugins.filter.docker_config_json import (
    docker_config_fingerprint,
    docker_config_json,
)
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _kube_local
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_keys as keys
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_plan as plan
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils import _pull_secret_tokens as tokens
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kube import Kube, KubeError, projected
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._kubeconfig import KubeconfigError, identify, overlaps
from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pod_proof import PodProof, ProofError, desired_pod

try:  # ansible-core 2.19+: text read from a file must be trusted before it is templated
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core
    def trust_as_template(text):
        return text

PLACEHOLDER = "(minted at run time)"  # check mode: a token that would be minted is not known yet
PERSONAL_KEY_WARNING = ("pull_secret_credential_type iamapikey writes your own IBM Cloud API key into the Secrets: whoever can read "
                        "them gets all of your rights, not only pulls. Prefer pull_secret_credential_type: service_id (a service "
                        "ID that may only pull, with a key of its own).")


_Read = collections.namedtuple("_Read", "identity kube targets selected secrets seen_all")


class StepError(Exception):
    """A check of the role failed: the message says what to fix."""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("step", "restore"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self._task_vars = task_vars or {}
        step = self._task.args.get("step")
        steps = {"read": self._read, "check_play": self._check_play, "previous": self._previous, "write": self._write,
                 "prove": self._prove, "decide": self._decide, "remove": self._remove, "read_description": self._read_description,
                 "audit": self._audit, "report": self._report, "key": self._key}
        if step not in steps:
            raise AnsibleError("pull_secret_cluster: step must be one of %s" % ", ".join(sorted(steps)))
        self._opts = self._var("__pull_secret_opts")
        if not isinstance(self._opts, dict):
            raise AnsibleError("pull_secret_cluster runs inside the ibm_dedicated.registry.pull_secret role, after pull_secret_options")
        self._fact = _cluster(self._var("__pull_secret_cluster")) if step not in ("read", "remove") else {}
        self._warnings = []
        self.kube = None
        try:
            out = steps[step]() or {}
        except (KubeError, KubeconfigError, StepError, ProofError) as exc:
            result.update(failed=True, msg=to_text(exc))
            return self._finish(result)
        cluster = out.pop("cluster", None)
        if cluster is not None:  # the role registers the step as __pull_secret_cluster: its data at the top level
            result.update(cluster)
        result.update(out)
        return self._finish(result)

    def _finish(self, result):
        if self._warnings:
            result.setdefault("warnings", []).extend(self._warnings)
        if self.kube is not None:
            result["kube_calls"] = self.kube.calls
            result["kube_reads_in_process"] = self.kube.reads
            if self._task.diff and self.kube.diffs:
                result["diff"] = self.kube.diffs
        return result

    # -- plumbing ---------------------------------------------------------------------------------------------------
    def _hostvars(self):
        """Every host's variables. Not ``or {}``: with only the implicit localhost (no inventory) ansible-core's
        HostVars is empty, hence false, yet holds localhost."""
        found = self._task_vars.get("hostvars")
        return {} if found is None else found

    def _var(self, name, default=None):
        if name not in self._task_vars:
            return default
        return self._templar.template(self._task_vars[name])

    def _run_module(self, module, args, secret=False, check=None):
        """Run a kubernetes.core module. ``secret``: its arguments or answer hold Secret data (no syslog; its diff is
        made without the data, see ``_kube.SECRET_HIDDEN``)."""
        saved = (self._task.no_log, self._task.check_mode, self._task.diff)
        try:
            if secret:
                self._task.no_log = True
            if check is not None:
                self._task.check_mode = check
            return self._execute_module(module_name=module, module_args=args, task_vars=self._task_vars)
        finally:
            self._task.no_log, self._task.check_mode, self._task.diff = saved

    def _connect(self, identity=None, host=None):
        """The Kube of this host's cluster, or of another ``host`` of the play (its own kubeconfig and context options)."""
        opts, this = self._opts, self._task_vars.get("inventory_hostname")
        if host is None or host == this:
            host, identity = this, identity or self._fact.get("identity") or {}
        else:
            hostvars = self._hostvars()
            opts = self._templar.template(_hostvar(hostvars, host, "__pull_secret_opts") or {})
            identity = (_hostvar(hostvars, host, "__pull_secret_cluster") or {}).get("identity") or {}
        where = "cluster %s (context %s, server %s)" % (host, identity.get("context") or "(current)", identity.get("server") or "(in-cluster)")
        kube = Kube(self._run_module, {"kubeconfig": opts.get("kubeconfig"), "context": opts.get("context")}, where,
                    read=None if any(self._task.environment or ()) else _kube_local.k8s_info)  # a module would run with it
        if host == this:
            self.kube = kube
        return kube

    @property
    def _check_mode(self):
        return bool(self._task.check_mode)

    def _targets(self, kube):
        opts = self._opts
        if not opts.get("selects_namespaces"):
            return list(opts["namespaces"]), False
        selector = opts.get("namespace_selector") or None
        found = kube.list("Find the namespaces to serve", "Namespace", label_selectors=[selector] if selector else None)
        names = plan.select_namespaces(found, opts.get("namespaces_exclude"))
        if not names:
            raise StepError("No namespace matches %s after excluding %s in this cluster." % (
                ("label selector %r" % selector) if selector else "pull_secret_namespaces: [all]",
                ", ".join(opts.get("namespaces_exclude") or []) or "nothing"))
        return names, True

    def _read_named(self, kube, kind, namespaces, name=None, step=None, secret=False, cluster_wide=True):
        """Objects of ``kind`` (named ``name`` when given) in ``namespaces``: one list over every namespace when the
        context may list them cluster-wide, else one per namespace (a namespace-scoped Role). ``(objects, saw_all)``."""
        fields = ["metadata.name=%s" % name] if name else None
        step = step or "Read the %ss" % kind
        if cluster_wide:
            try:
                return kube.list(step, kind, field_selectors=fields, secret=secret), True
            except KubeError as exc:
                if exc.code != 403:
                    raise
        found = []
        for namespace in namespaces:
            try:
                found.extend(kube.list("%s in %s" % (step, namespace), kind, namespace=namespace, field_selectors=fields, secret=secret))
            except KubeError as exc:
                if exc.code != 403 or not cluster_wide:
                    raise
                raise StepError("%s: %s may list %ss neither in all namespaces (at the cluster scope) nor in namespace %s "
                                "(403 Forbidden: %s). Grant list on %ss in the listed namespaces (a Role) or in every namespace "
                                "(a ClusterRole): see the RBAC section of the role README." % (
                                    step, kube.where, kind, namespace, exc.error.get("message"), kind.lower())) from None
        return found, False

    def _read_secrets(self):
        """What every state reads first: which cluster this is, the target namespaces, and the Secrets named
        pull_secret_name there (cluster-wide, or per namespace for a namespace-scoped context)."""
        opts = self._opts
        identity = identify(opts.get("kubeconfig"), opts.get("context"))
        if identity.get("insecure"):
            self._warnings.append("The kubeconfig's cluster %s has insecure-skip-tls-verify: the API server's certificate is "
                                  "not checked." % identity.get("server"))
        kube = self._connect(identity)
        targets, selected = self._targets(kube)
        secrets, seen_all = self._read_named(kube, "Secret", targets, name=opts["name"], step="Read the Secrets named %s" % opts["name"],
                                             secret=True)
        return _Read(identity, kube, targets, selected, secrets, seen_all)

    # -- read: everything a run needs, before a token is minted ----------------------------------------------------
    def _read(self):
        opts = self._opts
        identity, kube, targets, selected, secrets, seen_all = self._read_secrets()
        adopt = _servers(opts) if opts.get("credential_type") == "service_id" and opts.get("migrate_hand_made_secrets") else ()
        found = plan.classify(secrets, targets, opts["name"], adopt_servers=adopt)
        namespaces = found["namespaces"]
        adopted = sorted(ns for ns, entry in namespaces.items() if entry.get("adopted"))
        if adopted:
            self._warnings.append("Secret %s in %s was made by hand (kubectl create secret docker-registry): this run takes it over "
                                  "(pull_secret_migrate_hand_made_secrets) and moves it to the service ID's key; from now on the role "
                                  "manages it, and playbooks/revoke.yml removes it." % (opts["name"], tokens.few(adopted)))
        foreign = plan.by_state(namespaces, "foreign")
        if foreign:
            raise StepError("A Secret named %s already exists in namespace(s) %s and is not managed by %s (no "
                            "app.kubernetes.io/managed-by label, or another type). Choose another pull_secret_name, or remove "
                            "or relabel that Secret yourself." % (opts["name"], ", ".join(foreign), plan.MANAGED_BY))
        description = self._description(namespaces, warn=True)
        self._warn_of_other_credentials(namespaces)
        absent = self._absent_namespaces(kube, plan.by_state(namespaces, "missing"), selected)
        accounts = self._service_accounts(kube, targets, absent, seen_all)
        pod_namespace = opts.get("pod_namespace") or targets[0]
        pod = None
        if opts.get("pod_enabled") or opts.get("rotate"):
            if pod_namespace not in absent:
                pod = kube.get("Read the verification Pod", "Pod", pod_namespace, opts["pod_name"])
            if pod is not None and not plan.is_ours(pod):
                raise StepError("A Pod named %s already exists in namespace %s and is not managed by %s. Choose another "
                                "pull_secret_pod_name or pull_secret_pod_namespace; the role never touches it." % (
                                    opts["pod_name"], pod_namespace, plan.MANAGED_BY))
        in_use = {token: list(where) for token, where in found["elsewhere"].items()}  # lists of its own: elsewhere stays
        for namespace, entry in namespaces.items():
            if entry.get("token_id"):
                in_use.setdefault(entry["token_id"], []).append(namespace)
        fact = {
            "host": self._task_vars.get("inventory_hostname"), "identity": identity, "targets": targets,
            "namespaces": namespaces, "elsewhere": found["elsewhere"], "in_use": in_use, "seen_all": seen_all,
            "absent_namespaces": absent, "service_accounts": accounts, "pod_namespace": pod_namespace, "pod": pod,
            "token_description": description, "done": False, "failure": None, "written": False,
        }
        self._fact = fact
        if not self._check_mode:
            self._check_write_permission(kube)
        return {"changed": False, "cluster": fact, "token_description": description,
                "msg": "%d namespace(s): %s" % (len(targets), _counts(namespaces))}

    def _description(self, namespaces, warn=False):
        """The token description: as given; else the one recorded on our Secrets (an install from before the description
        was derived keeps its token); else the derived default. ``warn``: a run that will replace Secrets of another
        description says that their token stays live."""
        opts = self._opts
        if opts.get("token_description_given"):
            if not warn:
                return opts["token_description"]
            for namespace, entry in namespaces.items():
                if entry["state"] == "ours" and entry.get("description") and entry["description"] != opts["token_description"]:
                    self._warnings.append(
                        "Secret %s in %s holds token %s of description %r, not %r: once this run replaces it, that token stays "
                        "live unless nothing else uses it. Revoke it with playbooks/revoke.yml -e "
                        "pull_secret_token_description=%s when it is no longer needed." % (
                            opts["name"], namespace, entry.get("token_id") or "(unknown)", entry["description"],
                            opts["token_description"], entry["description"]))
                    break
            return opts["token_description"]
        return plan.recorded_description(namespaces) or opts["token_description"]

    def _warn_of_other_credentials(self, namespaces):
        """A token run over Secrets that hold a service ID's key replaces the key, which stays live: say so (the key is
        the service ID's to delete, with pull_secret_credential_type: service_id)."""
        if self._opts.get("credential_type", "token") != "token":
            return
        held = sorted({e["token_id"] for e in namespaces.values() if e.get("state") == "ours"
                       and str(e.get("token_id") or "").startswith(plan.API_KEY_ID_PREFIX)})
        if held:
            self._warnings.append(
                "The Secrets %s in %s hold the service ID's API key %s: this run (pull_secret_credential_type token) replaces it "
                "with a registry token, and the key stays live. Keep pull_secret_credential_type: service_id, or delete the key in IAM "
                "afterwards (ibm_dedicated.registry.iam_api_key with state: absent and its id in ids)." % (
                    self._opts["name"], tokens.few([ns for ns, e in namespaces.items() if e.get("token_id") in held]), ", ".join(held)))

    def _absent_namespaces(self, kube, missing, selected):
        """Target namespaces that do not exist (a selection only finds existing ones)."""
        if not missing or selected:
            return []
        try:
            existing = {(ns.get("metadata") or {}).get("name") for ns in kube.list("Read the namespaces", "Namespace")}
        except KubeError as exc:
            if exc.code != 403:
                raise
            return []  # a namespace-scoped context cannot list namespaces: a missing one fails the write with 404
        absent = [ns for ns in missing if ns not in existing]
        if absent and not self._opts.get("create_namespaces"):
            raise StepError("Namespace(s) %s do not exist in this cluster. Create them, correct pull_secret_namespaces, or "
                            "set pull_secret_create_namespaces: true." % ", ".join(absent))
        return absent

    def _service_accounts(self, kube, targets, absent, cluster_wide):
        names = self._opts.get("service_accounts") or []
        if not names:
            return []
        single = names[0] if len(set(names)) == 1 else None
        found, _unused = self._read_named(kube, "ServiceAccount", [t for t in targets if t not in absent], name=single,
                                          step="Read the service accounts", cluster_wide=cluster_wide)
        wanted = set(targets)
        accounts = [_account(a) for a in found if (a.get("metadata") or {}).get("namespace") in wanted
                    and (a.get("metadata") or {}).get("name") in names]
        missing = plan.service_account_plan(accounts, targets, names, self._opts["name"], created=absent)["missing"]
        if missing:
            raise StepError("Service account(s) %s (namespace/name) do not exist. Create them or correct "
                            "pull_secret_service_accounts." % ", ".join(missing))
        return accounts

    def _check_write_permission(self, kube):
        """A server-side dry run of the writes this run may make, before a token is minted: a context that may read but
        not write fails here, with nothing minted or written.

        A context that could read every namespace is checked with one write of each kind (a ClusterRole grants alike in
        every namespace, and a thousand dry runs would cost seconds); a namespace-scoped one in each namespace."""
        fact, opts = self._fact, self._opts
        absent = fact["absent_namespaces"]
        if not (plan.by_state(fact["namespaces"], "missing") or opts.get("rotate")):
            return
        stand_in = _b64(docker_config_json(_servers(opts), opts["docker_username"], "dry-run"))
        annotations = plan.desired_annotations("dry-run", fact["token_description"], "0" * 64)
        kinds = {"namespace": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in absent],
                 "create": [], "update": []}
        for namespace, entry in fact["namespaces"].items():
            if namespace in absent:
                continue
            if entry["state"] == "missing":
                kinds["create"].append(plan.secret_definition(opts["name"], namespace, annotations, stand_in))
            elif opts.get("rotate"):
                kinds["update"].append(plan.secret_definition(opts["name"], namespace, annotations, stand_in))
        kinds["accounts"] = plan.service_account_plan(fact["service_accounts"], fact["targets"], opts.get("service_accounts") or [],
                                                      opts["name"])["patch"]
        definitions = []
        for items in kinds.values():
            definitions += items[:1] if fact["seen_all"] else items
        kube.apply("Check that this context may write (server-side dry run)", definitions, secret=True, check=True)

    # -- check_play: hosts of the play that are the same cluster ----------------------------------------------------
    def _check_play(self):
        hostvars = self._hostvars()
        identities = {}
        for host in self._task_vars.get("ansible_play_hosts") or []:
            fact = _hostvar(hostvars, host, "__pull_secret_cluster") or {}
            identities[host] = {"server": (fact.get("identity") or {}).get("server"), "namespaces": fact.get("targets") or []}
        clashes = overlaps(identities)
        if clashes:
            raise StepError("; ".join(
                "hosts %s and %s of the play are the same cluster (%s) and both would write namespace(s) %s: give each "
                "host its own pull_secret_context (extra vars such as -e @vars.yml override every host's own)" % (
                    c["hosts"][0], c["hosts"][1], c["server"], ", ".join(c["namespaces"])) for c in clashes))
        if self._opts.get("rotate"):
            unread = [h for h in self._task_vars.get("ansible_play_hosts_all") or [] if h not in identities]
            if unread:
                raise StepError("A rotation needs every cluster of the play; %s could not be read (see its error). Nothing "
                                "was minted." % ", ".join(unread))
        return {"changed": False}

    # -- write: namespaces, Secrets and service accounts where they differ -------------------------------------------
    def _ibm_result(self, name, step, needed):
        """The registered result of an IBM task that returns a credential (no_log, failed_when false): its failure
        is told here, once, with the module's own message (which never holds a credential)."""
        result = self._var(name) or {}
        if result.get("skipped"):
            return result
        if needed not in result:
            raise StepError("%s: %s" % (step, result.get("msg") or "no result (see the task's output above)"))
        return result

    def _previous(self):
        """Before a rotation mints: the token the target Secrets of every cluster hold now, kept (with its value, no_log)
        so that a failed rotation can put it back; only a live token of the managed access is ever put back."""
        login = self._var("__pull_secret_login") or {}
        if login and not login.get("skipped"):
            self._ibm_result("__pull_secret_login", "Log in with the single-use credential", "authorization")
        listed = self._ibm_result("__pull_secret_previous", "Read the live tokens before rotating", "tokens").get("tokens") or []
        live = {t["id"]: t for t in tokens.live_of_access(listed, not self._opts.get("token_read_write"))}
        if len(live) > 1:
            raise StepError("%d registry tokens of this access described %r are live (%s); a rotation would make a third. Run "
                            "the role without pull_secret_rotate first: it keeps the one the Secrets use and revokes the others "
                            "no Secret uses." % (len(live), self._fact.get("token_description"), ", ".join(sorted(live))))
        held = {}
        for cluster in self._clusters():
            for namespace, entry in ((cluster.get("fact") or {}).get("namespaces") or {}).items():
                if entry.get("state") == "ours" and entry.get("token_id"):
                    held.setdefault(entry["token_id"], []).append("%s/%s" % (cluster["host"], namespace))
        if len(held) > 1:
            raise StepError("The Secrets of this run hold %d different tokens (%s); a rotation replaces one. Run the role "
                            "without pull_secret_rotate first, so that they all hold one." % (
                                len(held), "; ".join("%s in %s" % (t, tokens.few(w)) for t, w in sorted(held.items()))))
        previous = {}
        if held:
            token = live.get(next(iter(held)))
            if token is not None:  # a revoked token, or one of another access, is never put back
                previous = {"id": token["id"], "token": token.get("token")}
        return dict(previous, changed=False, _ansible_no_log=True)

    def _rotating(self):
        """A rotation: pull_secret_rotate, or the service ID's key replaced because it nears its expiry. Every cluster then
        writes and proves the new credential before the old one goes, and a failure anywhere puts the old one back."""
        if self._opts.get("rotate"):
            return True
        key = self._var("__pull_secret_key") or {}
        return self._opts.get("credential_type") == "service_id" and bool(key.get("mint") and (key.get("previous") or key.get("migrate_from")))

    def _credential(self):
        """``(user, password, id)`` for the Secrets: the registry token the role registered, the previous one on a
        restore, the service ID's API key (minted this run, or the one the Secrets hold), or the IBM Cloud API key."""
        opts = self._opts
        kind = opts.get("credential_type", "token")
        restore = self._task.args.get("restore")
        if kind == "service_id":
            key = self._var("__pull_secret_key") or {}
            minted = self._minted_key()
            if minted is not None and not restore:
                return "iamapikey", minted.get("apikey") or PLACEHOLDER, minted.get("id") or ""
            if restore and key.get("migrate_from"):  # a migration that failed: the registry token goes back
                return "token", key["migrate_from"]["token"], key["migrate_from"]["id"]
            return "iamapikey", key.get("apikey"), key.get("previous") if restore else key.get("reuse")
        if restore:
            token = self._var("__pull_secret_restore") or {}
            return "token", token.get("token"), token.get("id")
        if kind == "iamapikey":
            if self._task_vars.get("__pull_secret_login"):
                self._ibm_result("__pull_secret_login", "Check the IBM Cloud API key with IAM", "authorization")
            self._warnings.append(PERSONAL_KEY_WARNING)
            key = self._var("pull_secret_apikey") or os.environ.get("IBMCLOUD_API_KEY") or os.environ.get("IC_API_KEY")
            return "iamapikey", key, "iamapikey"
        login = self._var("__pull_secret_login") or {}
        if login and not login.get("skipped"):
            self._ibm_result("__pull_secret_login", "Log in with the single-use credential", "authorization")
        token = self._ibm_result("__pull_secret_token", "Reuse or mint the registry token", "action")
        if not (token.get("readonly", True) == (not self._opts.get("token_read_write"))):
            raise StepError("the registry returned a token of the wrong access; nothing was written")
        return "token", token.get("token") or PLACEHOLDER, token.get("id") or ""

    def _credential_line(self, key_id):
        """The summary's line on the service ID and its key (never a value)."""
        if self._opts.get("credential_type") != "service_id":
            return ""
        service_id = (self._var("__pull_secret_service_id") or {}).get("service_id") or {}
        key = self._var("__pull_secret_key") or {}
        minted = self._minted_key()
        if minted is not None:
            state = "%s: %s" % ("would be minted" if self._check_mode else "minted", key.get("why"))
            expires = key.get("expires_at") or "never"
        else:
            state = "reused, " + str(key.get("why"))
            held = [k for k in self._listed_keys() if k.get("id") == key_id]
            expires = (held[0].get("expires_at") if held else None) or "never"
        return "Credential: service ID %s (%s), API key %s (%s; expires %s), user iamapikey" % (
            self._opts.get("service_id_name"), service_id.get("id") or "would be created", key_id or "(not minted in check mode)",
            state, expires)

    def _listed_keys(self):
        """The service ID's API keys with the role's key name, as "Read the service ID's API keys" listed them (absent lists
        every key of the service ID, to tell whether anything else uses it)."""
        name = self._opts.get("service_id_name")
        return [k for k in (self._var("__pull_secret_listed") or {}).get("keys") or [] if k.get("name") == name]

    def _minted_key(self):
        """The result of "Mint the API key" (no_log, failed_when false), or None when the run reuses a key."""
        minted = self._var("__pull_secret_token") or {}
        if not minted or minted.get("skipped"):
            return None
        return self._ibm_result("__pull_secret_token", "Mint the API key", "keys")

    # -- key: the service ID's API key to reuse, or why a new one is minted ------------------------------------------
    def _key(self):
        """Run once, after every cluster was read: the live key the managed Secrets hold (its value read back from one of
        them, as IAM never shows it again), or a decision to mint (none held, pull_secret_rotate, expiry window)."""
        opts = self._opts
        listed = self._listed_keys()
        clusters = self._clusters()
        now = datetime.datetime.now(datetime.timezone.utc)
        choice = keys.choose(listed, clusters, now, opts.get("rotate"), opts.get("apikey_rotate_before_days") or 0)
        value = self._held_value(choice["previous"], clusters) if choice["previous"] else None
        if value is None and not choice["mint"]:
            choice.update(mint=True, reuse=None, why="the Secrets that hold %s were changed by hand or cannot be read back" % choice["previous"])
        if value is None:
            choice["previous"] = None  # nothing to put back
        out = dict(choice, changed=False, expires_at=keys.expires_at(now, opts.get("apikey_lifetime_days")) if choice["mint"] else None,
                   msg="%s API key: %s" % ("mint an" if choice["mint"] else "reuse the", choice["why"]))
        if value is not None:
            out.update(apikey=value, _ansible_no_log=True)
        migrated = self._migration(clusters)
        if migrated:
            out.update(migrate_from=migrated, _ansible_no_log=True)
        return out

    @staticmethod
    def _adopted(clusters, host, namespace):
        """Whether the read took over the hand-made Secret of ``namespace`` in ``host``."""
        for cluster in clusters:
            if cluster["host"] == host:
                return bool((((cluster.get("fact") or {}).get("namespaces") or {}).get(namespace) or {}).get("adopted"))
        return False

    def _migration(self, clusters):
        """Managed Secrets of the targets that hold a registry token move to the service ID's key in this run: a rotation
        from that token (kept, with its value read back from a Secret, to be put back if the key fails anywhere)."""
        held = tokens.held_by_user(clusters, "token")
        if not held:
            return None
        if len(held) > 1:
            raise StepError("The managed Secrets hold %d different registry tokens (%s); a migration to the service ID replaces one. "
                            "Run the role with pull_secret_credential_type: token first, so that they all hold one." % (
                                len(held), "; ".join("%s in %s" % (t, tokens.few(w)) for t, w in sorted(held.items()))))
        (token_id, where), = held.items()
        value = self._held_value(token_id, clusters, user="token")
        if value is None:
            raise StepError("The managed Secrets in %s hold registry token %s but were changed by hand: their content cannot be put "
                            "back if the service ID's key fails. Run the role with pull_secret_credential_type: token first." % (
                                tokens.few(where), token_id))
        descriptions = tokens.descriptions_of(clusters, token_id)
        return {"id": token_id, "token": value, "description": descriptions[0] if len(descriptions) == 1 else None, "held_in": sorted(where),
                "by_hand": not descriptions}

    def _held_value(self, key_id, clusters, user="iamapikey"):
        """The value of the credential a managed Secret holds, from the first such Secret whose content is what the role
        wrote (its fingerprint annotation matches): the password of ``user``."""
        opts = self._opts
        for host, namespace in keys.holders(clusters, key_id):
            step = "Read back the credential from Secret %s in %s" % (opts["name"], namespace)
            secret = self._connect(host=host).get(step, "Secret", namespace, opts["name"], secret=True)
            value = plan.held_password(secret, user, key_id)
            if not value and user == "token" and self._adopted(clusters, host, namespace):
                value = plan.adopted_password(secret, _servers(opts), key_id)
            if value:
                return value
        return None

    def _desired(self):
        user, password, token_id = self._credential()
        if not password:
            raise StepError("no credential to write (the registry token or API key is missing)")
        document = docker_config_json(_servers(self._opts), user, password, self._opts.get("docker_email") or None)
        fingerprint = docker_config_fingerprint(document)
        annotations = plan.desired_annotations(token_id, self._fact["token_description"], fingerprint)
        return annotations, _b64(document), token_id

    def _write(self):
        opts, fact = self._opts, self._fact
        kube = self._connect()
        restore = bool(self._task.args.get("restore"))
        token_id = None
        if restore and not (self._var("__pull_secret_decision") or {}).get("restore"):
            return {"changed": False, "cluster": fact}
        try:
            annotations, data, token_id = self._desired()
            if restore:  # the Secrets changed since the read: read them again
                secrets, _unused = self._read_named(kube, "Secret", fact["targets"], name=opts["name"], secret=True,
                                                    step="Read the Secrets named %s again" % opts["name"],
                                                    cluster_wide=fact["seen_all"])
                fact["namespaces"] = plan.classify(secrets, fact["targets"], opts["name"])["namespaces"]
            writes = plan.write_plan(fact["namespaces"], annotations, data)
            absent = [] if restore else fact["absent_namespaces"]
            # A server-side dry run cannot create inside a namespace that is not really created.
            skip = set(absent) if self._check_mode else set()
            names = [ns for ns in writes["create"] + writes["update"] if ns not in skip]
            fact["written"] = fact["written"] or bool(names)
            # One kubernetes.core task writes in order: the namespaces, the Secrets in them, then a new verification Pod
            # (so that it pulls with the Secrets just written).
            first = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in absent]
            pod = self._new_pod(annotations) if names and not restore else None
            definitions = first + [plan.secret_definition(opts["name"], ns, annotations, data) for ns in names] + ([pod] if pod else [])
            changed = bool(definitions)
            if definitions:
                step = ", ".join(part for part, wanted in (("Create the namespaces", first), ("Write the Secrets", names),
                                                           ("create the verification Pod", pod)) if wanted)
                results = kube.apply(step, definitions, secret=bool(names))
                self._settle_races(kube, names, results[len(first):len(first) + len(names)], annotations, data, writes)
                fact["pod_created"] = bool(pod)
            patched = self._patch_service_accounts(kube, absent)
            changed = changed or bool(patched)
        except KubeError as exc:
            if self._rotating() and not restore:
                return self._defer(str(exc), token_id)
            raise
        in_use = {token: list(where) for token, where in (fact.get("elsewhere") or {}).items()}
        if token_id:
            in_use.setdefault(token_id, []).extend(fact["targets"])
        verb = "would be " if self._check_mode else ""
        line = "Secret %s for %s: %s of %d namespace(s)" % (opts["name"], ", ".join(_servers(opts)), ", ".join(
            "%s %d" % (label, len(writes[key])) for key, label in (
                ("create", verb + "created in"), ("update", verb + "updated in"), ("unchanged", "unchanged in"))), len(fact["targets"]))
        summary = [line]
        if absent:
            summary.append("Namespaces %s%s" % (verb + "created: ", ", ".join(absent)))
        if opts.get("service_accounts"):
            summary.append("Service accounts %s: %s" % (", ".join(opts["service_accounts"]), (
                "the Secret %sadded to imagePullSecrets of %s" % (verb, ", ".join(patched))) if patched else "already list the Secret"))
        if restore:
            summary = ["Put back: " + line]
        fact.update(in_use=in_use, holds=token_id, writes=writes, patched=patched, summary=summary, credential=self._credential_line(token_id))
        return {"changed": changed, "cluster": fact, "msg": summary}

    def _new_pod(self, annotations):
        """The verification Pod to create with the Secrets, when the read found none: the prove step then only waits.
        None when the Pod exists (it is kept or re-created by the prove step), is not wanted, or the run rotates or is a
        dry run."""
        opts, fact = self._opts, self._fact
        if not opts.get("pod_enabled") or self._check_mode or self._rotating() or fact.get("pod") is not None:
            return None
        return desired_pod(self._render_pod(), annotations[plan.FINGERPRINT])

    def _settle_races(self, kube, names, results, annotations, data, writes):
        """kubernetes.core turns a 409 on create into changed plus a warning, with no object: another run created the
        Secret between our read and our write. Read those again and tell the truth."""
        raced = [ns for ns, res in zip(names, results) if res.get("method") == "create" and not res.get("result")]
        if not raced:
            return
        again = plan.classify(kube.list("Read the Secrets another run created", "Secret",
                                        field_selectors=["metadata.name=%s" % self._opts["name"]], secret=True), raced,
                              self._opts["name"])["namespaces"]
        foreign = plan.by_state(again, "foreign")
        if foreign:
            raise StepError("While this run wrote it, someone else created a Secret named %s in %s that is not managed by %s."
                            % (self._opts["name"], ", ".join(foreign), plan.MANAGED_BY))
        retry = [ns for ns, entry in again.items() if entry["state"] == "missing"]
        settled = plan.write_plan(again, annotations, data)
        redo = sorted(set(retry) | set(settled["update"]))
        if redo:
            kube.apply("Write the Secrets again", [plan.secret_definition(self._opts["name"], ns, annotations, data) for ns in redo],
                       secret=True)
        for ns in raced:
            if ns in settled["unchanged"]:
                writes["create"].remove(ns)
                writes["unchanged"].append(ns)
        self._warnings.append("Another run created Secret %s in %s at the same time; it was read again and %s." % (
            self._opts["name"], ", ".join(raced), "written" if redo else "already holds the same content"))

    def _patch_service_accounts(self, kube, created):
        opts, fact = self._opts, self._fact
        names = opts.get("service_accounts") or []
        if not names:
            return []
        accounts = list(fact["service_accounts"])
        if created and "default" in names and not self._check_mode:
            accounts += self._wait_for_default_accounts(kube, created)
        patches = plan.service_account_plan(accounts, fact["targets"], names, opts["name"], created=created)["patch"]
        if patches:
            kube.apply("Add the Secret to the service accounts' imagePullSecrets", patches)
        return ["%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]) for p in patches]

    def _wait_for_default_accounts(self, kube, created, timeout=15):
        """The controller adds ``default`` to a new namespace a moment after it is created."""
        deadline = time.monotonic() + timeout
        while True:
            found = [_account(a) for a in kube.list("Read the new namespaces' service accounts", "ServiceAccount",
                                                    field_selectors=["metadata.name=default"])
                     if (a.get("metadata") or {}).get("namespace") in created]
            if {a["metadata"]["namespace"] for a in found} >= set(created) or time.monotonic() > deadline:
                return found
            time.sleep(1)

    def _defer(self, message, token_id):
        """A rotation hears from every cluster before it decides: this cluster's failure is recorded, not raised. Its
        Secrets may hold the new token now."""
        fact = self._fact
        in_use = {token: list(where) for token, where in (fact.get("in_use") or {}).items()}
        if token_id:
            in_use.setdefault(token_id, []).extend(fact["targets"])
        fact.update(failure=message, in_use=in_use, holds=None, done=True, written=True)
        return {"changed": True, "cluster": fact, "msg": message}

    # -- prove: the kubelet pulls with the Secret --------------------------------------------------------------------
    def _prove(self):
        opts, fact = self._opts, self._fact
        needed = opts.get("pod_enabled") or self._rotating()
        if not needed or fact.get("failure"):
            fact["done"] = True
            return {"changed": False, "cluster": fact}
        kube = self._connect()
        annotations, _data, _token = self._desired()
        manifest = self._render_pod()
        desired = desired_pod(manifest, annotations[plan.FINGERPRINT])
        proof = PodProof(kube, fact["pod_namespace"], opts["pod_name"], desired, plan.MANAGED_BY, opts["pod_wait_timeout"],
                         check_mode=self._check_mode, server=opts["server"])
        try:
            # {} means "read, and there is none"; after a write or in a new namespace the read is repeated.
            outcome = proof.run(current=None if fact.get("written") and self._rotating() else (fact.get("pod") or {}),
                                created=bool(fact.get("pod_created")))
        except (KubeError, ProofError) as exc:
            if self._rotating():
                return self._defer(str(exc), None)
            raise
        if outcome.get("action") in ("create", "recreate") and outcome.get("changed") and not fact.get("pod_created"):
            kube.note(desired, projected(fact.get("pod"), desired) if outcome["action"] == "recreate" else {}, desired)
        if not opts.get("pod_enabled") and not self._check_mode:
            kube.delete("Remove the verification Pod (only the rotation needed it)", "Pod", fact["pod_namespace"], opts["pod_name"])
        line = "Pod %s/%s: %s" % (fact["pod_namespace"], opts["pod_name"], outcome.get("line"))
        fact.update(done=True, proof={k: outcome.get(k) for k in ("action", "proven", "pulled", "seconds", "line")},
                    summary=list(fact.get("summary") or []) + [line])
        return {"changed": bool(outcome.get("changed")), "cluster": fact,
                "msg": line}

    def _render_pod(self):
        """templates/pod.yaml.j2 of the role (the procedure's mypod.yaml), rendered with the run's values."""
        import yaml

        path = self._find_needle("templates", "pod.yaml.j2")
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        variables = dict(self._task_vars)
        variables["__pull_secret_cluster"] = self._fact
        templar = self._templar.copy_with_new_env(available_variables=variables)
        manifest = yaml.safe_load(to_text(templar.template(trust_as_template(source))))
        path_out = self._opts.get("pod_manifest_path")
        if path_out:
            with open(os.path.expanduser(path_out), "w", encoding="utf-8") as handle:
                yaml.safe_dump(manifest, handle, default_flow_style=False, sort_keys=False)
        return manifest

    # -- decide: what the play may revoke or must restore, from every cluster --------------------------------------
    def _clusters(self):
        hostvars = self._hostvars()
        return [{"host": h, "fact": _hostvar(hostvars, h, "__pull_secret_cluster")} for h in self._task_vars.get("ansible_play_hosts_all") or []]

    def _decide(self):
        """From every cluster of the play: credentials to revoke and to keep (and why), and the task file that finishes
        the run (``then``); for a rotation, the clusters where the new credential failed and whether to restore the
        previous one."""
        opts = self._opts
        clusters = self._clusters()
        listed, current, previous, manages = self._managed()
        out = {"changed": False, "revoke": [], "kept": [], "failures": [], "restore": False, "then": [], "migrated": {}}
        if self._rotating() and opts.get("state") == "present":
            out["failures"] = tokens.rotation_failures(clusters)
            if self._task.args.get("restore"):
                # Every cluster that could be put back holds the previous credential: the new one goes unless one may hold it.
                new = [c for c in listed if c.get("id") == current] if current else []
                out.update(tokens.revocable(new, not opts.get("token_read_write"), clusters, keep=(previous,) if previous else (),
                                            manages=manages))
                return self._withheld(out)
            out["then"] = ["rotate_finish.yml"]
            if out["failures"]:
                out["restore"] = bool(previous)
                return out
        out.update(tokens.revocable(listed, not opts.get("token_read_write"), clusters, keep=(current,) if current else (), manages=manages))
        out["migrated"] = self._migrated_tokens(clusters)
        self._withheld(out)
        if not out["then"]:  # a rotation finishes (and revokes) in rotate_finish.yml
            out["then"] = (["revoke_%s.yml" % opts.get("credential_type", "token")] if out["revoke"] else []) + (
                ["migrate_tokens.yml"] if out["migrated"]["revoke"] else [])
        if opts.get("state") == "absent" and opts.get("credential_type") == "service_id":
            listed_all = self._var("__pull_secret_listed") or {}
            out["service_id"] = keys.removal(listed_all.get("service_id"), listed_all.get("keys") or [], opts["service_id_name"],
                                             opts["service_id_description"], out["revoke"])
            if (out["service_id"] or {}).get("delete"):
                out["then"].append("remove_service_id.yml")
        return out

    def _withheld(self, out):
        """With pull_secret_credential_shared, nothing is revoked: Secrets outside the play may hold any credential."""
        if self._opts.get("credential_shared"):
            tokens.withhold(out, "pull_secret_credential_shared is true: Secrets outside this play (other job slices or "
                                 "inventories) may hold it; revoke it from a run over every cluster that uses it")
        return out

    def _migrated_tokens(self, clusters):
        """The registry token the Secrets held before a migration to the service ID: revoked (pull_secret_migrate_revoke_tokens)
        once every cluster proved the key, unless a Secret the run cannot vouch for may still hold it."""
        migrated = ((self._var("__pull_secret_key") or {}).get("migrate_from") or {})
        out = {"revoke": [], "kept": [], "description": migrated.get("description"), "id": migrated.get("id")}
        if not migrated.get("id"):
            return out
        if not self._opts.get("migrate_revoke_tokens"):
            out["kept"].append({"id": migrated["id"], "why": "pull_secret_migrate_revoke_tokens is false: revoke it yourself once "
                                "nothing else pulls with it"})
            return out
        if migrated.get("by_hand"):
            out["kept"].append({"id": migrated["id"], "why": "it was made by hand and its description is not recorded: revoke it "
                                "yourself once nothing else pulls with it"})
            return out
        unproven = [c["host"] for c in clusters if not ((c.get("fact") or {}).get("proof") or {}).get("proven")]
        if unproven:
            out["kept"].append({"id": migrated["id"], "why": "the key is not proven in %s" % ", ".join(unproven)})
            return out
        decision = tokens.revocable([{"id": migrated["id"]}], True, clusters, manages=lambda token: True)
        out.update(revoke=decision["revoke"], kept=decision["kept"])
        return out

    def _managed(self):
        """``(listed, current id, previous id, manages)`` of the credentials of the kind the run manages: what is listed
        at IBM, the one the Secrets get now, the one a failed rotation puts back, and which of them the run may revoke."""
        opts = self._opts
        if opts.get("credential_type") == "service_id":
            key = self._var("__pull_secret_key") or {}
            minted = self._minted_key() or {}
            listed = self._listed_keys()
            if minted.get("id") and all(k.get("id") != minted["id"] for k in listed):
                listed.append({"id": minted["id"], "state": "live"})
            previous = key.get("previous") or (key.get("migrate_from") or {}).get("id")  # a migration puts the token back
            return listed, minted.get("id") or key.get("reuse"), previous, keys.manageable
        token = self._var("__pull_secret_token") or {}
        listed = token.get("tokens") or (self._var("__pull_secret_listed") or {}).get("tokens") or []
        if opts.get("rotate") and token.get("id") and all(t.get("id") != token["id"] for t in listed):
            listed = list(listed) + [{"id": token["id"], "readonly": not opts.get("token_read_write"), "permanent": True}]
        return listed, token.get("id"), (self._var("__pull_secret_restore") or {}).get("id"), None

    def _read_description(self):
        """The token description the audit looks for: as given (nothing is read), else the one recorded on the Secrets
        (or the derived default)."""
        if self._opts.get("token_description_given"):
            return {"changed": False, "cluster": {"token_description": self._opts["token_description"]}}
        read = self._read_secrets()
        namespaces = plan.classify(read.secrets, read.targets, self._opts["name"])["namespaces"]
        return {"changed": False, "cluster": {"token_description": self._description(namespaces)}}

    # -- remove (state absent): only what carries our label ----------------------------------------------------------
    def _remove(self):
        opts = self._opts
        identity, kube, targets, _selected, secrets, seen_all = self._read_secrets()
        found = plan.classify(secrets, targets, opts["name"])
        ours = plan.by_state(found["namespaces"], "ours")
        pod_namespace = opts.get("pod_namespace") or targets[0]
        pod = kube.get("Read the verification Pod", "Pod", pod_namespace, opts["pod_name"])
        removed = {"pod": False, "service_accounts": [], "secrets": []}
        if pod is not None and plan.is_ours(pod):
            removed["pod"] = kube.delete("Delete the verification Pod", "Pod", pod_namespace, opts["pod_name"],
                                         wait_timeout=opts.get("pod_wait_timeout"))
            if removed["pod"]:
                kube.note_deleted(dict(pod, apiVersion="v1", kind="Pod"))
        if ours:
            accounts, _unused = self._read_named(kube, "ServiceAccount", ours, step="Read the service accounts", cluster_wide=seen_all)
            removals = plan.service_account_removals(accounts, ours, opts["name"])
            if removals:
                kube.apply("Remove the Secret from the service accounts' imagePullSecrets", removals)
                removed["service_accounts"] = ["%s/%s" % (r["metadata"]["namespace"], r["metadata"]["name"]) for r in removals]
            kube.call("Delete our Secrets", "kubernetes.core.k8s", {"state": "absent", "definition": [
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": opts["name"], "namespace": ns}} for ns in ours]})
            removed["secrets"] = ours
            for secret in secrets:
                if (secret.get("metadata") or {}).get("namespace") in ours:
                    kube.note_deleted(dict(secret, apiVersion="v1", kind="Secret"))
        description = self._description(found["namespaces"])
        fact = {"host": self._task_vars.get("inventory_hostname"), "identity": identity, "targets": targets,
                "token_description": description, "in_use": found["elsewhere"], "seen_all": seen_all, "done": True, "removed": removed,
                "kept_foreign": plan.by_state(found["namespaces"], "foreign")}
        verb = "would be " if self._check_mode else ""
        lines = ["Pod %s/%s: %s" % (pod_namespace, opts["pod_name"], (verb + "deleted") if removed["pod"] else
                                    "not ours, kept" if pod is not None else "none"),
                 "Secret %s: %sdeleted in %d namespace(s)" % (opts["name"], verb, len(ours))]
        if fact["kept_foreign"]:
            lines.append("Secret %s in %s is not managed by %s: kept, and the service accounts' entries for it too" % (
                opts["name"], ", ".join(fact["kept_foreign"]), plan.MANAGED_BY))
        fact["summary"] = lines
        return {"changed": bool(removed["pod"] or removed["service_accounts"] or removed["secrets"]),
                "cluster": fact, "msg": lines}

    # -- audit -------------------------------------------------------------------------------------------------------
    def _audit(self):
        from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import audit_cluster

        opts = self._opts
        identity, kube, targets, _selected, secrets, seen_all = self._read_secrets()
        accounts, _unused = self._read_named(kube, "ServiceAccount", targets, step="Read the service accounts", cluster_wide=seen_all)
        listed, listed_keys = [], None
        if opts["credential_type"] == "token":
            listed = self._ibm_result("__pull_secret_audit_tokens", "Read the registry tokens with the description", "tokens").get("tokens") or []
        elif opts["credential_type"] == "service_id":
            listed_keys = self._ibm_result("__pull_secret_audit_keys", "Read the service ID's API keys", "keys").get("keys") or []
        apikey = self._credential()[1] if opts["credential_type"] == "iamapikey" else None
        part = audit_cluster(self._task_vars.get("inventory_hostname"), identity, targets, secrets, accounts, listed, opts, apikey=apikey,
                             keys=listed_keys)
        return {"changed": False, "cluster": {"audit": part, "done": True, "seen_all": seen_all}}

    def _report(self):
        from ansible_collections.ibm_dedicated.registry.plugins.plugin_utils._pull_secret_audit import audit_report, report_files

        listed = (self._var("__pull_secret_audit_tokens") or {}).get("tokens") or []
        found_keys = self._var("__pull_secret_audit_keys") or {}
        report = audit_report(self._clusters(), self._task_vars.get("ansible_play_hosts") or [], listed, self._opts,
                              keys=found_keys.get("keys") or [], service_id_found=bool(found_keys.get("iam_id")) or "keys" not in found_keys)
        path = self._opts.get("audit_report_path")
        if path:
            for target, text in report_files(report, os.path.expanduser(path), self._opts.get("audit_report_formats")):
                with open(target, "w", encoding="utf-8") as handle:
                    handle.write(text)
        # The step shows the audit itself (as debug does): one task, whose failure on drift comes with the audit.
        if self._opts.get("audit_fail_on_drift") and not report["in_order"]:
            return {"changed": False, "failed": True, "msg": "\n".join(report["lines"] + [
                "Audit failed (pull_secret_audit_fail_on_drift): %d problem(s), listed above." % len(report["problems"])])}
        return {"changed": False, "msg": report["lines"], "_ansible_verbose_always": True}


# Keys of a task result, which are not part of the cluster's state the steps hand on.
_RESULT_KEYS = frozenset(("changed", "failed", "msg", "warnings", "deprecations", "skipped", "skip_reason", "kube_calls", "kube_reads_in_process",
                          "invocation", "_ansible_no_log", "false_condition", "exception", "censored"))


def _servers(opts):
    """The registry hosts the Secret holds the credential for (options derived before this option existed: one)."""
    return opts.get("servers") or [opts["server"]]


def _cluster(registered):
    """The cluster's state from the previous step's registered result."""
    if not isinstance(registered, dict) or registered.get("failed") or registered.get("skipped"):
        return {}
    return {k: v for k, v in registered.items() if k not in _RESULT_KEYS}


def _b64(text):
    import base64
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _counts(namespaces):
    counts = {}
    for entry in namespaces.values():
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
    return ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items()))


def _account(account):
    """What the role needs of a service account (the list can be large)."""
    metadata = account.get("metadata") or {}
    return {"metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace"),
                         "resourceVersion": metadata.get("resourceVersion")},
            "imagePullSecrets": account.get("imagePullSecrets") or []}


def _hostvar(hostvars, host, name):
    try:
        value = hostvars[host].get(name)
    except (KeyError, AttributeError):
        return None
    return _cluster(value) if name == "__pull_secret_cluster" else value
