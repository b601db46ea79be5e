"""Experiment ``real_validation``: the log-analysis predictions checked on real data nobody here produced.

Data: ``../shared/data`` (argument ``data_dir``; read its README). Nothing is copied into the repo.

Part 1, GSM8K answer distributions (code-davinci-002, 10 samples per problem, 1,000 problems; only
answer counts are known). For s in {3, 4, 5} observed samples per problem and R random splits (quick
R = 3, full R = 20; split r of size s draws each problem's observed samples as a multivariate
hypergeometric sample of its counts, generator ``default_rng([seed, s, r])``), every predictor of
``real.predict`` (plug-in, hierarchical Pólya urn "dirichlet", binary beta-binomial) predicts the
dataset-level maj@K for K = 3 ... 10 from the s observed samples. The *realized* value is the exact
unbiased maj@K estimator (``theory.voting.maj_at_k``) on the disjoint remaining 10 − s samples, possible
for K ≤ 10 − s (the comparisons the claims use); for larger K the estimator on all 10 samples is
reported as a non-disjoint reference. Noise floor: the 95% half-width of the realized dataset-level
value, 1.96 × (standard deviation of the per-problem realized values) / sqrt(P), averaged over splits.
Error = predicted − realized, averaged over splits (bias) and in absolute value.

Part 2, Pythia on MATH (correctness counts only, budgets from 128 to ~3.7 M samples per problem and
checkpoint). For every checkpoint, each problem's samples are subsampled hypergeometrically to m = 128
(``default_rng([seed, 7, checkpoint index])``), the beta-binomial is fitted on the subsample
(``theory.passk.fit_beta_binomial``) and pass@k is predicted for k = 1, 16, 128, 1024, 8192 from each
problem's posterior Beta(α + c, β + m − c) (1 − B(a, b + k)/B(a, b)), averaged over the problems with
n ≥ k, and compared with the unbiased pass@k on *all* their samples (unequal budgets: each k uses only
problems with enough samples). The population curve ``predicted_pass_at_k(α, β, k)`` is stored beside it.
Checkpoints with no success in the subsample (degenerate fit) are skipped and listed. Coverage churn: for each model
size, its checkpoints in order of tokens seen, compared at the equal budget k = 128 (every cell has
n ≥ 128) with ``real.analysis.coverage``: rotation (1 − mean consecutive Jaccard of solved sets; solved = at least one
correct sample among k = 128, drawn as a seeded random 128-subset where n > 128), retention, and whether
the unsolvable sets are nested.

Claims: the plug-in under-predicts maj@K (mean signed error over the disjoint comparisons < 0); the best
predictor's mean |error| over the disjoint comparisons lies inside the realized value's 95% interval
(value = mean |error| / mean half-width, threshold 1); the beta-binomial extrapolation from 128 samples
to k = 1024 (8× the sample) has mean |error| over checkpoints ≤ 0.05 (threshold stated before the run).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from experiments.summary import RESULTS_DIR, Claim, atomic_write_text, save_figure, write_summary

NAME = "real_validation"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPLIT_SIZES = (3, 4, 5)
KS = tuple(range(3, 11))
MODELS = ("plugin", "dirichlet", "beta_binomial")
PYTHIA_M = 128
PYTHIA_KS = (1, 16, 128, 1024, 8192)
PYTHIA_CLAIM_K, PYTHIA_TOL = 1024, 0.05


def gsm8k_validation(data_dir: Path, n_splits: int, seed: int) -> dict:
    from real.importers import load_counts
    from real.predict import fit_dirichlet_prior, predict_beta_binomial, predict_dirichlet, predict_plugin
    from theory.passk import fit_beta_binomial
    from theory.voting import maj_at_k

    table, report = load_counts(data_dir / "gsm8k-codex-k10" / "answers.jsonl")
    vc, ab = table.vote_counts()
    vc = vc[0]
    P = vc.shape[0]
    full = {K: np.asarray(maj_at_k(vc, K, abstain=ab), np.float64) for K in KS}
    rows = []
    for s in SPLIT_SIZES:
        for r in range(n_splits):
            rng = np.random.default_rng([seed, s, r])
            obs = np.array([rng.multivariate_hypergeometric(row, s) for row in vc])
            rest = vc - obs
            n_obs = obs.sum(1)
            prior = fit_dirichlet_prior(obs)
            fit = fit_beta_binomial(n_obs, obs[:, 0])
            p1_obs = obs[:, 0] / n_obs
            p1_rest = rest[:, 0] / rest.sum(1)
            for K in KS:
                disjoint = K <= 10 - s
                real = np.asarray(maj_at_k(rest, K, abstain=ab), np.float64) if disjoint else full[K]
                half = 1.96 * real.std(ddof=1) / np.sqrt(P)
                preds = {"plugin": predict_plugin(obs, K), "dirichlet": predict_dirichlet(obs, K, prior),
                         "beta_binomial": predict_beta_binomial(n_obs, obs[:, 0], K, fit)}
                for m, pr in preds.items():
                    rows.append({"s": s, "split": r, "K": K, "model": m, "disjoint": disjoint, "predicted": float(pr.mean()),
                                 "realized": float(real.mean()), "half_width": float(half),
                                 "sc_predicted": float((pr - p1_obs).mean()),
                                 "sc_realized": float((real - (p1_rest if disjoint else vc[:, 0] / vc.sum(1))).mean())})
    return {"rows": rows, "n_problems": P, "import": report.to_dict(max_listed=20)}


def summarize_gsm8k(rows: list[dict]) -> dict:
    out = {}
    for m in MODELS:
        d = [r for r in rows if r["model"] == m and r["disjoint"]]
        err = np.array([r["predicted"] - r["realized"] for r in d])
        hw = np.array([r["half_width"] for r in d])
        sc_err = np.array([r["sc_predicted"] - r["sc_realized"] for r in d])
        cells = {}
        for r in d:
            cells.setdefault((r["s"], r["K"]), []).append(r["predicted"] - r["realized"])
        inside = np.mean([abs(np.mean(v)) <= np.mean([x["half_width"] for x in d if (x["s"], x["K"]) == key])
                          for key, v in cells.items()])
        out[m] = {"bias": float(err.mean()), "mean_abs_error": float(np.abs(err).mean()), "mean_half_width": float(hw.mean()),
                  "ratio": float(np.abs(err).mean() / hw.mean()), "sc_bias": float(sc_err.mean()),
                  "fraction_of_s_K_cells_inside": float(inside), "n_comparisons": int(len(d))}
    return out


def _pythia_order(label: str) -> tuple:
    m = re.match(r"Pythia_([\d.]+)([MB])_([\d.]+)([KMBT])", label)
    if not m:
        return (label, 0.0)
    size = float(m.group(1)) * (1e6 if m.group(2) == "M" else 1e9)
    unit = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[m.group(4)]
    return (size, float(m.group(3)) * unit)


def pythia_validation(data_dir: Path, seed: int, max_checkpoints: int | None) -> dict:
    from real.analysis import coverage
    from real.importers import load_counts
    from scipy import special

    from theory.passk import fit_beta_binomial, pass_at_k, predicted_pass_at_k

    table, report = load_counts(data_dir / "pythia-math-coverage" / "counts.csv", mapping={"checkpoint": "model"})
    order = sorted(range(len(table.checkpoints)), key=lambda i: _pythia_order(table.checkpoints[i]))
    if max_checkpoints:
        order = [order[i] for i in np.unique(np.linspace(0, len(order) - 1, max_checkpoints).round().astype(int))]
    rows, skipped = [], []
    for ci in order:
        n, c = table.n_samples[ci], table.n_correct[ci]
        ev = n >= PYTHIA_M
        if ev.sum() < 10:
            continue
        rng = np.random.default_rng([seed, 7, ci])
        c_sub = rng.hypergeometric(c[ev], n[ev] - c[ev], PYTHIA_M)
        if c_sub.sum() == 0:  # no success in the subsample: the beta-binomial MLE is degenerate
            skipped.append(table.checkpoints[ci])
            continue
        fit = fit_beta_binomial(np.full(ev.sum(), PYTHIA_M), c_sub)
        for k in PYTHIA_KS:
            use = ev & (n >= k)
            if use.sum() < 10:
                continue
            measured = float(np.mean(pass_at_k(n[use], c[use], k)))
            # per problem, the posterior Beta(alpha + c_sub, beta + m - c_sub) of its success probability:
            # pass@k = 1 - E[(1 - p)^k] = 1 - B(a, b + k) / B(a, b); averaged over the problems that reach k
            a_i = fit.alpha + c_sub[use[ev]]
            b_i = fit.beta + PYTHIA_M - c_sub[use[ev]]
            predicted = float(np.mean(-np.expm1(special.betaln(a_i, b_i + k) - special.betaln(a_i, b_i))))
            population = float(predicted_pass_at_k(fit.alpha, fit.beta, k))
            rows.append({"checkpoint": table.checkpoints[ci], "k": k, "n_problems": int(use.sum()), "predicted": predicted,
                         "population_prediction": population, "measured": measured, "alpha": fit.alpha, "beta": fit.beta})
    churn = {}
    sizes = {}
    for i, ck in enumerate(table.checkpoints):
        sizes.setdefault(ck.rsplit("_", 1)[0], []).append(i)
    for size, idx in sorted(sizes.items(), key=lambda t: _pythia_order(t[0] + "_0K")):
        idx = sorted(idx, key=lambda i: _pythia_order(table.checkpoints[i]))
        sub = table.select(idx)
        if len(idx) < 2 or int(sub.n_samples[sub.n_samples > 0].min()) < PYTHIA_M:
            continue
        cov = coverage(sub, k=PYTHIA_M, K=PYTHIA_M)
        churn[size] = {"checkpoints": list(sub.checkpoints), "rotation": cov["rotation"], "retention": cov["retention"].tolist(),
                       "solved_fraction": cov["solved_fraction"], "unsolvable_nested": cov["unsolvable"][PYTHIA_M]["nested"],
                       "n_problems": cov["n_problems"]}
    return {"rows": rows, "churn": churn, "import": report.to_dict(max_listed=20), "n_checkpoints": len(table.checkpoints),
            "skipped_no_success_in_subsample": skipped}


def _figures(out_dir: Path, g_rows, p_rows) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, axes = plt.subplots(1, len(SPLIT_SIZES), figsize=(14, 4), sharey=True)
    for ax, s in zip(axes, SPLIT_SIZES):
        for m, col in zip(MODELS, ("tab:orange", "tab:blue", "tab:green")):
            pred = [np.mean([r["predicted"] for r in g_rows if r["s"] == s and r["K"] == K and r["model"] == m]) for K in KS]
            ax.plot(KS, pred, "o-", ms=3, color=col, label=f"predicted: {m}")
        real = [np.mean([r["realized"] for r in g_rows if r["s"] == s and r["K"] == K and r["model"] == "plugin"]) for K in KS]
        hw = [np.mean([r["half_width"] for r in g_rows if r["s"] == s and r["K"] == K and r["model"] == "plugin"]) for K in KS]
        dis = np.array(KS) <= 10 - s
        ax.errorbar(np.array(KS)[dis], np.array(real)[dis], yerr=np.array(hw)[dis], fmt="ks", ms=4, label="realized (disjoint, 95%)")
        ax.plot(np.array(KS)[~dis], np.array(real)[~dis], "kx", label="all 10 samples (not disjoint)")
        ax.set_title(f"GSM8K: predict from s = {s} samples/problem")
        ax.set_xlabel("K (votes)")
    axes[0].set_ylabel("dataset maj@K")
    axes[0].legend(fontsize=7)
    save_figure(fig, out_dir / "gsm8k_maj_prediction.png")
    plt.close(fig)
    names.append("gsm8k_maj_prediction.png")
    if p_rows:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        cks = list(dict.fromkeys(r["checkpoint"] for r in p_rows))
        show = [cks[i] for i in np.unique(np.linspace(0, len(cks) - 1, min(6, len(cks))).round().astype(int))]
        for i, ck in enumerate(show):
            rr = [r for r in p_rows if r["checkpoint"] == ck]
            col = plt.get_cmap("viridis")(i / max(len(show) - 1, 1))
            ax.plot([r["k"] for r in rr], [r["measured"] for r in rr], "o", color=col, label=ck)
            ax.plot([r["k"] for r in rr], [r["predicted"] for r in rr], "-", color=col)
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.set_ylabel("pass@k (dots: unbiased on all samples; lines: beta-binomial from 128)")
        ax.legend(fontsize=6)
        save_figure(fig, out_dir / "pythia_passk_extrapolation.png")
        plt.close(fig)
        names.append("pythia_passk_extrapolation.png")
    return names


def run(quick: bool = False, results_dir=None, seed: int = 0, data_dir=None) -> dict:
    t0 = time.perf_counter()
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA
    out_dir = Path(results_dir or RESULTS_DIR) / NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    gsm = data_dir / "gsm8k-codex-k10" / "answers.jsonl"
    pyt = data_dir / "pythia-math-coverage" / "counts.csv"
    if not gsm.is_file() or not pyt.is_file():
        claims = [Claim(f"real data present at {data_dir} (gsm8k-codex-k10, pythia-math-coverage)", False, None, None)]
        write_summary(NAME, claims, results_dir=results_dir, quick=quick, data_dir=str(data_dir), absent=True)
        print(f"real_validation: data absent at {data_dir}; nothing validated")
        return {"claims": [c.as_dict() for c in claims]}
    g = gsm8k_validation(data_dir, 3 if quick else 20, seed)
    gsum = summarize_gsm8k(g["rows"])
    p = pythia_validation(data_dir, seed, 12 if quick else None)
    lines = ["part,model,s,split,K,disjoint,metric,value"]
    for r in g["rows"]:
        for key in ("predicted", "realized", "half_width", "sc_predicted", "sc_realized"):
            lines.append(f"gsm8k,{r['model']},{r['s']},{r['split']},{r['K']},{r['disjoint']},{key},{r[key]:.6g}")
    for r in p["rows"]:
        for key in ("predicted", "measured"):
            lines.append(f"pythia,{r['checkpoint']},,,{r['k']},,{key},{r[key]:.6g}")
    atomic_write_text(out_dir / "data.csv", "\n".join(lines) + "\n")
    figures = _figures(out_dir, g["rows"], p["rows"])

    best = min(MODELS, key=lambda m: gsum[m]["mean_abs_error"])
    perr = [abs(r["predicted"] - r["measured"]) for r in p["rows"] if r["k"] == PYTHIA_CLAIM_K]
    pmean = float(np.mean(perr)) if perr else float("nan")
    claims = [
        Claim(f"GSM8K: the plug-in predictor under-predicts maj@K (mean signed error over {gsum['plugin']['n_comparisons']} "
              "disjoint split comparisons < 0)", gsum["plugin"]["bias"] < 0, gsum["plugin"]["bias"], 0.0),
        Claim(f"GSM8K: the best predictor ({best}) has dataset-level mean |error| inside the realized value's 95% interval "
              f"(value = mean |error| / mean half-width; |error| {gsum[best]['mean_abs_error']:.4f}, half-width "
              f"{gsum[best]['mean_half_width']:.4f})", gsum[best]["ratio"] <= 1.0, gsum[best]["ratio"], 1.0),
        Claim(f"Pythia/MATH: beta-binomial fitted on {PYTHIA_M} subsampled samples predicts pass@{PYTHIA_CLAIM_K} within "
              f"{PYTHIA_TOL} on average over {len(perr)} checkpoints (value = mean |predicted - unbiased estimate|)",
              bool(perr) and pmean <= PYTHIA_TOL, pmean, PYTHIA_TOL),
    ]
    timings = {"total_s": time.perf_counter() - t0}
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, seed=seed, data_dir=str(data_dir), best_predictor=best,
                  gsm8k=gsum, gsm8k_setting={"split_sizes": list(SPLIT_SIZES), "Ks": list(KS), "n_splits": 3 if quick else 20,
                                             "n_problems": g["n_problems"]},
                  pythia={"ks": list(PYTHIA_KS), "subsample": PYTHIA_M, "rows": p["rows"], "churn_at_k128": p["churn"],
                          "skipped_no_success_in_subsample": p["skipped_no_success_in_subsample"],
                          "n_checkpoints_total": p["n_checkpoints"]},
                  figures=figures, timings=timings)
    print(f"real_validation ({'quick' if quick else 'full'}, {timings['total_s']:.1f} s)")
    for m in MODELS:
        print(f"  GSM8K {m:14s} bias {gsum[m]['bias']:+.4f}  mean|err| {gsum[m]['mean_abs_error']:.4f}  half-width "
              f"{gsum[m]['mean_half_width']:.4f}  ratio {gsum[m]['ratio']:.2f}  SC bias {gsum[m]['sc_bias']:+.4f}  cells inside {gsum[m]['fraction_of_s_K_cells_inside']:.2f}")
    for k in PYTHIA_KS:
        e = [r["predicted"] - r["measured"] for r in p["rows"] if r["k"] == k]
        if e:
            print(f"  Pythia pass@{k:<5d} mean error {np.mean(e):+.4f}  mean |error| {np.mean(np.abs(e)):.4f}  ({len(e)} checkpoints)")
    for size, d in p["churn"].items():
        print(f"  Pythia {size}: rotation at k={PYTHIA_M} {d['rotation']:.3f}, unsolvable nested {d['unsolvable_nested']}, "
              f"solved {d['solved_fraction'][0]:.2f}->{d['solved_fraction'][-1]:.2f}")
    for c in claims:
        print(f"  [{'ok' if c.holds else 'NO'}] {c.claim}: {c.value} (threshold {c.threshold})")
    return {"claims": [c.as_dict() for c in claims], "timings": timings}


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
