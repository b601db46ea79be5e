"""The pilot search behind ``experiments/real_phenomena.py``'s setting (issue 14): short single-seed runs of one
shortcut-type arm on a balanced test set, a per-class report, and the fit of the simulator's dynamics knobs.

    python scripts/real_phenomena_search.py pilot NAME --pool 0.45,0.5,0.05 --lr 2e-4 --steps 40 [--seed 0] \
        --base FOLDER --out /tmp/search
    python scripts/real_phenomena_search.py report /tmp/search/NAME ...
    python scripts/real_phenomena_search.py fit /tmp/search/NAME ... [--json fit.json]

``pilot`` runs ``experiments.real_phenomena.run`` with one arm (RL pool class shares ``--pool``), one seed, 240
test problems in equal class shares, 16 samples per checkpoint every 10 steps, reusing the base model folder
``--base`` (a ``real_phenomena/base`` of an earlier run: pilots share one base, so they differ only in the RL
setting). ``report`` prints per trap class the pass@1, SC gain@16 and shortcut share at every checkpoint, and
the pass@1 rise and hard-split SC gain (95% bootstrap, problems resampled within classes) when the balanced
test set is reweighted to other class mixes. ``fit`` grid-searches the simulator's learning rate and
per-strategy sharing (``sim.calibration.fit_dynamics``) against the pilots' per-class trajectories.
It is a script, not a registered experiment: a search is run once, by hand, and its grid and outcome are
recorded in the README (issue 14's section); the experiment then runs the chosen setting with fresh seeds
and a fresh base, its prediction made before its first RL step.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MIXES = ((1 / 3, 1 / 3, 1 / 3), (0.4, 0.2, 0.4), (0.5, 0.25, 0.25), (0.5, 0.3, 0.2), (0.75, 0.06, 0.19))
LEARNING_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
SHORTCUT_SHARING = (0.5, 0.7, 0.9, 1.0)
FULL_SHARING = (0.0, 0.1, 0.25, 0.5)


def pilot(name: str, pool, lr: float, steps: int, seed: int, base: Path, out: Path) -> None:
    from experiments import real_phenomena as rp

    st = dataclasses.replace(rp.FULL, arms=((name, tuple(pool)),), seeds=(seed,), rl_steps=steps, checkpoint_every=10,
                             learning_rate=lr, test_problems=240, test_class_shares=(1 / 3, 1 / 3, 1 / 3), n_eval=16, K=16, n_boot=400)
    folder = out / name
    (folder / rp.NAME).mkdir(parents=True, exist_ok=True)
    if not (folder / rp.NAME / "base").exists():
        shutil.copytree(base, folder / rp.NAME / "base")
    rp.run(results_dir=folder, setting=st)


def report(folder: Path, B: int = 400) -> None:
    from experiments import real_phenomena as rp
    from real.lab.config import QUICK as LAB
    from real.lab.run import make_problem_sets

    d = folder / rp.NAME
    st = rp.load_setting(d)
    arm, seed = st.arms[0][0], st.seeds[0]
    test = make_problem_sets(rp.lab_config(st, st.arms[0][1], seed, LAB))[0]["test"]
    cc = rp.slot_counts(test, rp._cached_records(d / "calibration_test.jsonl", None))
    hard = cc[:, 0] / cc.sum(1) < 0.5
    by_ck = rp.records_by_checkpoint(d / "runs" / f"{arm}_s{seed}" / "samples.jsonl")
    real = rp.realized_per_problem(test, by_ck, st.K, (1, len(by_ck)))
    cls = np.array([p.trap_class for p in test])
    idx = {c: np.flatnonzero(cls == c) for c in ("none", "trap_right", "trap_wrong")}
    print(f"== {folder.name}: pool {st.arms[0][1]}, lr {st.learning_rate}, seed {seed}, steps {real['steps']}")
    for c, ix in idx.items():
        print(f"  {c:10s} pass@1 " + " ".join(f"{x:.3f}" for x in real["pass@1"][:, ix].mean(1))
              + " | sc " + " ".join(f"{x:+.3f}" for x in real[f"sc_gain@{st.K}"][:, ix].mean(1))
              + " | shortcut " + " ".join(f"{x:.2f}" for x in real["shortcut"][:, ix].mean(1)) + f" | hard {hard[ix].mean():.2f}")
    rng = np.random.default_rng(0)
    boots = [np.concatenate([rng.choice(ix, len(ix)) for ix in idx.values()]) for _ in range(B)]
    for mix in MIXES:
        w = np.zeros(len(test))
        for ix, share in zip(idx.values(), mix):
            w[ix] = share / max(len(ix), 1)

        def mean(v, sel):
            return (v[..., sel] * w[sel]).sum(-1) / w[sel].sum()

        d_p1 = real["pass@1"][-1] - real["pass@1"][0]
        rise = [mean(d_p1, b) for b in boots]
        sc = real[f"sc_gain@{st.K}"]
        sc_hi = np.percentile([mean(sc, b[hard[b]]) for b in boots], 97.5, axis=0)
        print(f"  mix {tuple(round(m, 2) for m in mix)}: rise {mean(d_p1, np.arange(len(test))):+.3f} "
              f"[{np.percentile(rise, 2.5):+.3f}, {np.percentile(rise, 97.5):+.3f}] | hard sc "
              + " ".join(f"{e:+.3f}({h:+.3f})" for e, h in zip(mean(sc, np.flatnonzero(hard)), sc_hi)))


def fit(folders, out_json: Path | None) -> list[dict]:
    from experiments import real_phenomena as rp
    from real.lab.task import STRATEGIES
    from sim.calibration import fit_dynamics

    cases = [c for f in folders for c in rp.dynamics_cases(Path(f) / rp.NAME if (Path(f) / rp.NAME).is_dir() else f)]
    slips = (0.0,) * (len(STRATEGIES) - 2)
    rows = fit_dynamics(cases, LEARNING_RATES, [(s, f) + slips for s in SHORTCUT_SHARING for f in FULL_SHARING])
    for r in rows[:8]:
        print(f"error {r['error']:.4f}: lr {r['learning_rate']}, sharing (shortcut, full) = {tuple(r['sharing'][:2])}; per run "
              + " ".join(f"{e:.3f}" for e in r["per_case"]))
    if out_json is not None:
        out_json.write_text(json.dumps({"folders": [str(f) for f in folders], "rows": rows}, indent=1))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pilot")
    p.add_argument("name")
    p.add_argument("--pool", required=True, type=lambda s: tuple(float(x) for x in s.split(",")))
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("report")
    r.add_argument("folders", nargs="+", type=Path)
    f = sub.add_parser("fit")
    f.add_argument("folders", nargs="+", type=Path)
    f.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "pilot":
        pilot(a.name, a.pool, a.lr, a.steps, a.seed, a.base, a.out)
    elif a.cmd == "report":
        for folder in a.folders:
            report(folder)
    else:
        fit(a.folders, a.json)


if __name__ == "__main__":
    main()
