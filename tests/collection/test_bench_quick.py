"""`make bench` harness in its smallest mode (bench/run.py --smoke): it starts and stops its own sandboxes,
measures every scenario once (the floors next to the role, a job-slicing case of 2 slices × 1 cluster) and writes
results.json with every key; --markdown and --plot render it. Timings are not checked."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NEEDS = ("docker-registry", "skopeo", "kubectl", "jq", "curl")

pytestmark = pytest.mark.skipif(any(shutil.which(tool) is None for tool in NEEDS),
                                reason="the bench needs docker-registry, skopeo, kubectl, jq and curl")


def test_bench_smoke_writes_every_key(tmp_path):
    output = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k not in ("ANSIBLE_COLLECTIONS_PATH", "PYTHONPATH")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--output", str(output),
                           "--out-dir", str(tmp_path / "out")],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "targets (reported, never enforced)" in done.stdout
    res = json.loads(output.read_text())

    assert {"role_first_s", "role_rerun_s", "script_s"} <= res["procedure"].keys()
    assert all(isinstance(res["procedure"][k], float) for k in ("role_first_s", "role_rerun_s", "script_s"))
    assert [f["namespaces"] for f in res["fanout"]] == [10]
    fan = res["fanout"][0]
    assert {"namespaces", "first_run_s", "rerun_s", "rerun_writes", "rerun_reads", "floor_first_s", "floor_rerun_s",
            "first_vs_floor", "rerun_vs_floor", "first_module_processes", "rerun_module_processes"} <= fan.keys()
    assert all(isinstance(fan[k], float) and fan[k] > 0 for k in ("floor_first_s", "floor_rerun_s", "first_vs_floor", "rerun_vs_floor"))
    # The floors do what they stand for: the re-run floor reuses the role's token and writes nothing, the first-run
    # floor mints one and writes every Secret.
    assert fan["floor_rerun"]["tokens_minted"] == 0 and fan["floor_rerun"]["k8s_writes"] == 0
    assert fan["floor_first"]["tokens_minted"] == 1 and fan["floor_first"]["k8s_writes"] == 10
    # Module processes are counted, each once: the floors run exactly their tasks' modules (IBM, list; IBM, list, write).
    assert (fan["floor_rerun"]["module_processes"], fan["floor_first"]["module_processes"]) == (2, 3)
    assert res["loops"] == []  # smoke mode: no loops
    assert [c["clusters"] for c in res["clusters"]] == [1]
    assert {"clusters", "wall_s", "rerun_s", "floor_first_s", "floor_rerun_s", "tokens_minted",
            "first_module_processes_per_cluster", "rerun_module_processes_per_cluster"} <= res["clusters"][0].keys()
    assert isinstance(res["peak_rss_mib"], float) and res["peak_rss_mib"] > 0

    sl = res["slicing"]
    assert (sl["slices"], sl["clusters_per_slice"], len(sl["rounds"])) == (2, 1, 2)
    assert sl["converge"]["rc"] == 0 and sl["live_tokens_after_converge"] == 1 and sl["secrets_on_revoked_tokens"] == 0
    assert {"converged_every_round", "race_minted_per_slice", "live_tokens_after_round_2", "secrets_on_revoked_tokens",
            "tokens", "worst_checkpoint", "checkpoints_with_revoked"} <= sl.keys()
    assert [r["mode"] for r in sl["rounds"]] == ["concurrent", "sequential"]
    assert all(len(r["slices"]) == 2 and {"rc", "minted", "revoked", "secrets_present", "secrets_hold"} <= r["slices"][0].keys()
               for r in sl["rounds"])
    # Every token the Secrets hold is one of the description's (read from the Secret's value, not its annotation).
    assert {t for r in sl["rounds"] for s in r["slices"] for t in s["secrets_hold"]} <= {t["token"] for t in sl["tokens"]}

    names = [name for name, _, _ in res["targets"]]
    assert any("re-run floor" in n for n in names) and any("first-run floor" in n for n in names)
    assert any(n.startswith("slicing:") for n in names) and any(n.startswith("the bench itself") for n in names)
    assert all(mark in ("✓", "✗", "n/a", "·") for _, _, mark in res["targets"])
    assert {"python", "ansible_core", "kubernetes_core", "kubectl", "skopeo"} <= res["versions"].keys()
    assert res["machine"]["cpus"] >= 1 and len(res["machine"]["load_start"]) == 3
    rendered = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--markdown", str(output)],
                              cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "| 2. 10 namespaces, role first run |" in rendered and "| 2. 10 namespaces, re-run floor |" in rendered
    assert "round 1 (concurrent" in rendered
    png = tmp_path / "performance.png"
    subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--plot", str(output), "--plot-output", str(png)],
                   cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=120, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Every measured command ran to completion: the harness measured the role, not a failure.
    runs = [r for group in res["raw"]["procedure"].values() for r in group]
    runs += [r for group in res["raw"]["fanout"]["10"].values() for r in group]
    runs += [r for group in res["raw"]["clusters"]["1"].values() for r in group]
    runs += [r for rnd in res["raw"]["slicing"] for r in rnd]
    assert all(r["rc"] == 0 for r in runs), [(r["label"], r["log"]) for r in runs if r["rc"]]
