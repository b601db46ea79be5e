"""Experiment ``sc_negative_gain``: where self-consistency (majority voting) loses to a single sample.

Question (issue 3, reproduction 1). Majority voting (SC, maj@K) sometimes scores *below* pass@1, and in
real RLVR runs this shows up at particular checkpoints while pass@1 rises. SC gain = maj@K - pass@1 is
negative on a problem exactly when some wrong answer is (nearly) as likely as the correct one; its sign
therefore depends on how consistent the errors are (error consistency epsilon, attractor answers) and
on how peaked the sampling distribution is (temperature T).

Part (a): a map of SC gain over epsilon x T, and a check that sampled SC gain agrees with theory.
- Bank (``sim.bank.BankConfig``): P = 256 problems (quick: 128), S = 16 strategies, m = 8 answers,
  8 clusters, each strategy strong on 2 (q_hi = 0.9, q_lo = 0.02), attractor = 0.8 (wrong strategies
  agree on answer 1 with probability 0.8: the "attractor wrong answer"), no trap. Bank key 1.
- Policy: a *fixed base policy* (not trained): ``PolicyConfig()`` defaults, u ~ N(0, 1), v ~ N(0, 2^2)
  per problem, policy key 2. A fixed policy isolates the effect of epsilon and T; part (b) covers
  training.
- Grid: epsilon in {0, 0.125, ..., 0.875} (8 values) x T in geomspace(0.25, 4, 8) (8 values);
  K in {5, 32}. ``bank.replace(epsilon=...)`` changes only the per-rollout noise, not the bank answers.
- Exact: per problem, answer distribution ``sim.metrics.answer_probs`` -> maj@K by
  ``theory.voting.plurality_accuracy`` (random tie-break) -> SC gain = maj@K - p0; cell value = mean
  over problems.
- Sampled: n = 64 samples per problem (``sim.rollouts.sample_answer_counts``, key
  fold_in(PRNGKey(5), seed) split per cell) -> unbiased maj@K from counts (``theory.voting.maj_at_k``,
  K <= n) minus c0 / n; cell value = mean over problems.
- Agreement: per problem d_i = sampled_i - exact_i is independent across problems with mean 0 (both
  estimators are unbiased for the exact per-problem values), so the cell difference D = mean_i d_i has
  standard error SE = sqrt(sum_i d_i^2) / P (plug-in, unbiased for Var(D)). z = D / SE per cell (z = 0
  where every d_i is 0, i.e. deterministic cells). Claim: max |z| over all 8 x 8 x 2 = 128 cells <= 4.
  Justification: under agreement z is ~ N(0, 1) (P >= 128 terms), and P(max of 128 |N(0,1)| > 4)
  ~ 128 * 6.3e-5 = 0.008, so 4 SE is a Bonferroni-style 1% family-wise test. Mean |D| is reported.
  A second claim: the map has negative cells and positive cells for both K (the sign really depends on
  (epsilon, T)), value = number of negative cells (K = 32).

Part (b): a GRPO run in which pass@1 rises while the exact SC gain is negative at some checkpoints.
- Mechanism (prototype notes): shared learning promoting a strategy that solves one group of problems
  but is consistently wrong, on the same attractor answer, on the others: the bank's trap option
  (strategy 0 solves the ``trap_fraction`` easiest problems and answers the attractor 1 on all others).
- Searched (full mode, one training seed, documented in summary.json ``search``): attractor in
  {0.3, 0.8} x trap_fraction in {0.4, 0.5} x sharing in {0.9, 1.0}; fixed: P = 256, epsilon = 0.02
  (a solving strategy is almost always right, so errors come from the strategies, i.e. are
  consistent), base policy u ~ N(0, 1), v ~ N(0, 2^2) (keys 1, 2), GRPO, Adam, learning rate 0.05,
  T_train = T_eval = 1, 32 problems x 8 rollouts per step, 200 steps, checkpoint every 10 (21
  checkpoints). Selection rule: among settings whose pass@1 rises by >= 0.10 with >= 80% increasing
  checkpoint steps, the smallest exact SC gain@32 at a checkpoint where pass@1 has risen by >= 0.05.
  An earlier exploratory search (not in this module: problem_scale in {1, 2, 3}, attractor in
  {0, 0.3, 0.5, 0.65, 0.8}, trap_fraction in {0.3, ..., 0.7}, learning rate in {0.05, 0.1, 0.2},
  T_eval in {0.7, 1}) found negative SC gain after a pass@1 rise only with a strong attractor (0.8);
  with scattered base errors (attractor <= 0.3) the trap makes SC gain dip (e.g. +0.12 -> +0.01) but
  not below 0, because problems solved by the trap keep a positive gain while the trapped problems'
  p0 collapses to ~0 (where the SC loss, at most p0, vanishes).
- Why the mid-run dip is small (a structural reason, measured and derived): for K -> infinity the
  per-problem SC gain is 1{correct answer leads} - p0, so a dataset-level negative needs problems
  whose errors *lead* while their p0 is still large, and these must outweigh the failure mass
  1 - p0 of the problems whose correct answer leads. In a two-group trap model (trap share t; easy
  problems, fraction f_e, solved by the trap and by a fraction a_e of the other mass; hard problems,
  f_h, solved by a fraction a_h of the non-trap mass, trap leading), SC gain@inf = f_e (1 - t)(1 - a_e)
  - f_h (1 - t) a_h = (1 - t) d pass@1 / dt: the dataset SC gain is negative exactly when pass@1 is
  *falling* along the trap direction. So with one shared direction, negative SC gain and rising
  pass@1 exclude each other; a negative SC gain with rising pass@1 needs several moving parts and
  stays a narrow, shallow window, as in real runs where SC gain "hovers near zero and at some
  checkpoints turns negative". Grids tried in session 3 (single training seed, P = 256, 200 steps):
  attractor {0, 0.3, ..., 0.95} x trap_fraction {0, 0.3, 0.4, 0.5, 0.7} x sharing {0, 0.5, 0.7, 0.8,
  0.9, 1} x problem_scale {0.5, 1, 2, 3} x clusters_per_strategy {2, 3, 4} x min_solvers {0, 4, 5, 6}
  x learning rate {0.05, 0.1}: either the base SC gain is already negative (strong attractor) and
  training raises it, or it stays positive (scattered errors); the deepest "turns negative after
  positive" dip stayed about -0.01.
- Chosen setting (``CHOSEN``; quick mode runs only it): attractor 0.8, trap_fraction 0.4, sharing 1.0
  (training key fold_in(PRNGKey(3), seed)).
- Diagnosis at each checkpoint with negative exact SC gain@K (K = 5 and 32): problems are split into
  *consistent* (a wrong answer overtook the correct one in plurality: max_{a != 0} p_a > p0) and
  *scattered* (p0 still the top answer; voting loses only through small-sample fluctuation or is
  near random). Contribution of a class = (1 / P) sum over its problems of the per-problem SC gain; the
  two contributions sum to the total SC gain (identity, checked to 1e-9). Also reported: each class's
  negative part (sum of per-problem gains < 0 / P) and problem counts, and how many consistent problems
  were not consistent at the base checkpoint ("newly consistent").

Claims (b): pass@1 rises: last - first >= 0.10 (a rise of ~40% over the ~0.25 base) and >= 80% of
consecutive checkpoint steps increase; the exact SC gain@32 is < 0 at >= 1 checkpoint where pass@1 has
already risen by >= 0.05 (value = the smallest such SC gain); a stricter reading of "turns negative":
SC gain@32 < 0 at a checkpoint after it was > 0 at an earlier checkpoint (value = 1 if so, else 0);
the diagnosis identity |consistent + scattered - total| <= 1e-9.

Part (c) (issue 14): a deep, per-split dip from a "zero-absorbs" shortcut (``sim.shortcut``).
- Why a split: on the whole dataset, with one shared trap direction, SC gain@inf = (1 - t) d pass@1 / dt
  (above), so a deep negative SC gain and a rising pass@1 exclude each other. The exclusion does not
  hold per split: the problems on which the trap is wrong can be exactly the hard ones, while pass@1
  rises on the rest (and here even on the hard split itself, through a second moving part).
- Mechanism (mirrors chained mod-10 arithmetic): problems are chains of L ~ U{3..8} operations; a
  *never* problem's running value never hits 0, a *trap-right* one hits 0 first at step h and ends at
  0, a *trap-wrong* one hits 0 and ends elsewhere. Strategies: careful full procedure (per-step slip
  0.03), sloppy full procedure (per-step slip 0.3), zero-absorbs shortcut (answers 0 at the first zero;
  per-step slip 0.03 over its h steps). A slip gives a uniformly random wrong answer (scattered), so
  the base SC gain is positive on every split; the shortcut is right and shorter (fewer slips) on
  trap-right problems, consistently wrong with the same answer on trap-wrong ones, and the full
  procedure on never problems. Base shares (careful, sloppy, shortcut) = (0.3, 0.4, 0.3) at v = 0,
  per-problem logits v ~ N(0, 0.25^2). m = 8 answers (the real task has 10 digits; 8 lets the exact
  votes reuse part (a)'s compiled programs; 7 or 9 wrong answers barely change scattered slips).
- Train / test: GRPO (``CONFIG``: Adam lr 0.05, 32 problems x 8 rollouts, 200 steps, sharing 1, T = 1)
  on an RL pool of 256 problems: 3/4 never, 1/4 trap-right, no trap-wrong (``SC_POOL_CHOSEN``);
  evaluation on 200 *held-out* test problems (0.5 never, 0.1 trap-right, 0.4 trap-wrong) with the
  trained shared logits u and the test problems' own base logits v (``sim.shortcut.held_out_evaluator``:
  per-problem learning does not transfer, shared learning does). The pool rewards the shortcut (it is
  never wrong there and saves steps) and punishes the sloppy procedure, so u moves mass from sloppy to
  careful *and* shortcut: pass@1 rises on never / trap-right problems, while on trap-wrong test
  problems the shortcut's consistent wrong answer overtakes the correct one (p_wrong > p0) and the
  plurality vote turns against the truth.
- Splits of the test set: easy / hard = base exact pass rate >= / < 1/2 (from the base policy), and
  the trap-wrong class. At the base every trap-wrong problem is hard (the shortcut's 30% and the
  sloppy slips keep p0 < 1/2), so the hard split is ~80% trap-wrong; the effect appears on the hard
  split and not on the easy one, as in users' reports (AIME vs easy sets).
- Measured (seed 0): exact SC gain@32 on the hard split (103 of 200 problems) +0.24 at the base ->
  -0.125 at step 100, where overall pass@1 has risen 0.478 -> 0.618 (its peak is 0.647 at step 30) and
  the hard split's pass@1 0.363 -> 0.399; the whole-set SC gain stays near 0 there (+0.006, the
  exclusion). Within the split too: while the hard split's own pass@1 is still >= 0.05 above its base
  (steps 10-90) its SC gain@32 reaches -0.117 (step 90; at step 60, on the overall pass@1 plateau:
  -0.071 with the hard split's pass@1 up 0.096). SC gain@5 is shallower (min -0.038). Sampled, n = 32 (quick) and 64 (full) rollouts per test
  problem, unbiased maj@32: -0.121 [-0.168, -0.074] (n = 32) and -0.128 [-0.167, -0.089] (n = 64),
  95% bootstrap over problems; full mode, 9 seeds: exact dip -0.125..-0.151, every n = 64 upper end
  <= -0.087, SC gain@5 min -0.035..-0.050. Controls, no negative checkpoint on any split for K = 5, 32: an RL pool with
  the test set's class mix (the shortcut is wrong more often than right there: GRPO suppresses it;
  min +0.09) and a base without the shortcut (strategy 2 = careful procedure; min +0.14).
- First-order break-even (``sim.shortcut.break_even_trap_right_share``): for REINFORCE with shared
  logits at equal shares, GRPO promotes the shortcut over the careful procedure iff the pool's
  trap-right share r among its zero-hitting problems exceeds r* = -m_W / (m_R - m_W) = 0.934 here
  (m_R = +0.060 reward per rollout saved by the shortcut on trap-right problems, m_W = -0.847 lost on
  trap-wrong ones); the measured sweep (full mode, Adam) turns the dip on between r = 0.85 and 0.9
  (r = 0.85: +0.03, 0.9: -0.02, 0.95: -0.13). A pool whose zeros come at the first operation
  (``hit_max`` = 1) lowers r* to 0.873 and the measured switch to between 0.75 and 0.85 (0.85: -0.02,
  0.9: -0.13).
- Where the chosen setting stops short: with the shortcut as slip-prone as the careful procedure, the
  deep dip comes after overall pass@1 has peaked (still +0.14 above the base). A slip-free shortcut
  (full mode variant ``slip_free_shortcut``: it answers 0 reliably once the zero appears) puts the
  deepest dip (-0.17..-0.21, SC@5 -0.09) at a checkpoint where overall pass@1 is at its running maximum.
- Search (documented in summary.json setting.shortcut.exploratory_search, exploratory scripts, 1-3
  seeds): see ``SC_SEARCH_DOC``.
- Also reported (secondary): coverage rotation, exact pass@4 of one sample from each of 4 evenly
  spaced checkpoints vs the best single checkpoint's pass@4 (the union loses in every run here:
  rotation does not pay when the trained checkpoints dominate).

Claims (c): hard-split exact SC gain@32 <= -0.03 at a checkpoint where overall pass@1 has risen by
>= 0.10 (value = the smallest such gain); the hard split's SC gain@32 >= 0 at the base; the sampled
SC gain@32 at that checkpoint has a 95% bootstrap interval below 0 for each n used; the easy split's
SC gain@32 > 0 at every checkpoint; both controls have no checkpoint with SC gain@K < 0 (K = 5, 32)
on any split (all, easy, hard, trap-wrong).

Why plausible (b): LLM errors concentrate on a few attractive wrong answers (a shared misconception);
shared "skills" learned on one group of problems transfer to others, where they may be a consistent
misconception; T = 1 is the usual RLVR sampling temperature. Outputs: summary.json, checkpoints.npz (the
chosen run of (b)), data.csv (tidy: part,setting,epsilon,T,K,checkpoint,step,metric,value; part (c) rows
have part = shortcut and setting = variant;split), diagnosis.csv, sc_gain_map.png, sampled_vs_exact.png,
trajectory.png, shortcut_trajectory.png (part (c)).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from common.atomic import atomic_write_text
from common.figures import pyplot, save_figure
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from sim.bank import BankConfig, make_bank
from sim.checkpoints import save_checkpoints
from sim.metrics import answer_probs
from sim.policy import Policy, PolicyConfig, init_policy, logits
from sim.rollouts import sample_answer_counts
from sim.shortcut import (
    TRAP_WRONG,
    ShortcutBankConfig,
    break_even_trap_right_share,
    held_out_evaluator,
    make_shortcut_bank,
    make_shortcut_run,
    sample_shortcut_answer_counts,
    shortcut_base_policy,
)
from sim.train import TrainConfig, make_run, run_many, stack_hypers
from theory.voting import maj_at_k, plurality_accuracy

NAME = "sc_negative_gain"

KS = (5, 32)
# ---- part (a)
MAP_BANK = BankConfig(n_problems=256, attractor=0.8)
MAP_POLICY = PolicyConfig()
EPSILONS = tuple(float(x) for x in np.linspace(0.0, 0.875, 8))
TEMPS = tuple(float(x) for x in np.geomspace(0.25, 4.0, 8))
N_SAMPLES = 64
Z_MAX = 4.0
# ---- part (b)
TRAIN_P = 256
TRAIN_EPS = 0.02
TRAIN_POLICY = PolicyConfig(shared_scale=1.0, problem_scale=2.0)
CONFIG = TrainConfig(n_steps=200, batch_size=32, n_rollouts=8, checkpoint_every=10, advantage="grpo",
                     optimizer="adam", learning_rate=0.05, temperature=1.0, eval_temperature=1.0, sharing=1.0)
SEARCH = {"attractor": (0.3, 0.8), "trap_fraction": (0.4, 0.5), "sharing": (0.9, 1.0)}
CHOSEN = {"attractor": 0.8, "trap_fraction": 0.4, "sharing": 1.0}
RISE_MIN, MONO_MIN, RISEN_AT = 0.10, 0.8, 0.05
IDENTITY_TOL = 1e-9
K_MAIN = 32
# ---- part (c): the zero-absorbs shortcut (sim.shortcut), RL pool vs held-out test problems
SC_M = 8  # answers (the real task's mod-10 digits would be 10; 8 = part (a)'s m, which lets (c) reuse its compiled vote programs)
SC_LEN = (3, 8)  # chain length range (operations)
SC_KINDS = ("full", "full", "shortcut")  # careful full procedure, sloppy full procedure, zero-absorbs shortcut
SC_KINDS_NO_SHORTCUT = ("full", "full", "full")  # control: strategy 2 is the careful full procedure
SC_SLIPS = (0.03, 0.3, 0.03)  # per-step slip probabilities
SC_BASE_PROBS = (0.3, 0.4, 0.3)  # base shares (careful, sloppy, shortcut) at v = 0
SC_PROBLEM_SCALE = 0.25  # std of the per-problem base logits v (nats)
SC_P_POOL, SC_P_TEST = 256, 200
SC_TEST_SHARES = (0.1, 0.4)  # test set: (trap-right, trap-wrong) shares, the rest never hit 0
SC_POOL_CHOSEN = (0.25, 0.0)  # RL pool: a quarter of the problems hit 0, all of them end at 0
SC_VARIANTS = {"chosen": (SC_POOL_CHOSEN, SC_KINDS), "control_mix": (SC_TEST_SHARES, SC_KINDS),
               "control_no_shortcut": (SC_POOL_CHOSEN, SC_KINDS_NO_SHORTCUT)}
SC_HARD = 0.5  # hard split: base exact pass rate < 1/2
SC_DIP_MAX = -0.03
SC_NS = (32, 64)  # samples per test problem for the sampled SC gain (full mode; quick mode: the first)
SC_BOOT = 2000
SC_KEY = 7
SC_COVER_K, SC_COVER_J = 4, 4  # coverage rotation: union of 4 checkpoints x 1 sample vs the best single checkpoint's pass@4
SC_SLIPS_SLIP_FREE = (0.03, 0.3, 0.0)  # full-mode variant: a shortcut that never slips (a stronger pull on the pool)
SC_SEEDS = 8  # full mode: seeds of the robustness check
SC_SWEEP_R = (0.0, 0.25, 0.5, 0.75, 0.85, 0.9, 0.95, 1.0)  # full mode: trap-right share among the pool's zero-hitting problems
SC_SWEEP_HIT = 0.25  # full mode: zero-hitting share of the pool in the r sweep
SC_SEARCH_DOC = {  # exploratory scripts (session of issue 14); r = trap-right share among the pool's zero-hitting problems
    "notation": "r = trap-right share among the pool's zero-hitting problems, hit = zero-hitting share of the pool, pz / ps = base "
                "shortcut / sloppy shares, dc / dsl = per-step slips of the careful procedure (and shortcut) / the sloppy one, "
                "tw = trap-wrong share of the test set, psc = problem_scale; dip = min hard-split exact SC gain@32 over checkpoints "
                "with overall pass@1 rise >= 0.10; m = 10 answers in grids 1-5, 8 in 6-7",
    "grid1": {"runs": 120, "optimizer": "adam lr 0.05", "axes": {"r": [1, 0.8, 0.6, 0.4, 0.2], "pz": [0.1, 0.2, 0.3], "ps": [0.3, 0.5],
                                                                "dsl": [0.15, 0.3], "sharing": [1, 0.5]},
              "fixed": "hit 0.5, dc 0.03, psc 0.5, test (0.1, 0.4), 1 seed",
              "closest": "r 1, pz 0.3, ps 0.3, dsl 0.3, sharing 1: dip -0.128 (max rise 0.141); r <= 0.6: no dip below +0.05"},
    "grid2": {"runs": 576, "optimizer": "adam lr {0.05, 0.1}", "screen": "K -> inf proxy 1{p0 leads} - p0",
              "axes": {"hit": [0.25, 0.5], "r": [1, 0.9, 0.8], "pz": [0.2, 0.3], "ps": [0.3, 0.4, 0.5], "dsl": [0.2, 0.3],
                       "dc": [0.03, 0.05], "tw": [0.3, 0.4]},
              "closest": "r 1 dominates; dc 0.05 never in the top 40; pz 0.3, ps 0.4, dsl 0.2: proxy dip -0.19"},
    "seeds_r_sweep": {"runs": 48, "axes": {"r": [0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0], "seed": 6},
                      "fixed": "adam, hit 0.25, pz 0.3, ps 0.4, dsl 0.2, test (0.1, 0.4)",
                      "closest": "dip <= -0.03 in 6/6 seeds only at r = 1 (-0.058..-0.109), 5/6 at 0.95, 3/6 at 0.9, <= 1/6 below"},
    "grid3": {"runs": 1152, "optimizer": "sgd lr {1, 4}", "screen": "K -> inf proxy, 2 seeds",
              "axes": {"dc": [0.03, 0.06, 0.1], "r": [0.8, 0.9, 1], "hit": [0.25, 0.5], "pz": [0.2, 0.3], "ps": [0.4, 0.5],
                       "dsl": [0.2, 0.3], "tw": [0.3, 0.4]},
              "closest": "same ranking as Adam; larger careful slips dilute the hard split with never problems"},
    "grid4": {"runs": 288, "optimizer": "sgd lr 1", "exact": "K = 32 on the hard split, 3 seeds",
              "axes": {"psc": [0, 0.25, 0.5], "T_eval": [0.7, 1], "dsl": [0.2, 0.3], "ps": [0.4, 0.5], "tw": [0.3, 0.4], "pz": [0.2, 0.3]},
              "closest": "psc 0, dsl 0.2: hard split = exactly the trap-wrong class, dip -0.26; psc 0.25, ps 0.4, dsl 0.3, tw 0.4, "
                         "pz 0.3: -0.12..-0.15 with a mixed hard split (chosen; its Adam version: 8 seeds -0.11..-0.18, every "
                         "n = 32 / 64 bootstrap upper end <= -0.046)"},
    "rising": {"runs": 192, "optimizer": "adam lr 0.05", "axes": {"hit": [0.25, 0.5], "pz": [0.2, 0.3], "ps": [0.4, 0.6],
                                                                 "dsl": [0.15, 0.3, 0.5], "tw": [0.25, 0.4], "shortcut slip": [0.03, 0]},
               "closest": "a slip-free shortcut puts the deepest dip where overall pass@1 is still at its running maximum "
                          "(-0.15..-0.23); with slip 0.03 the deep dip comes after the pass@1 peak"},
    "early_hit_pool": {"runs": 15, "axes": {"pool hit_max": [None, 1], "r": [0.5, 0.8, 1]},
                       "closest": "hit_max 1 with r 1: dip -0.12..-0.14 (like chosen: Adam's step does not scale with the larger margin); "
                                  "r 0.5 / 0.8: no dip"},
}


# ----------------------------------------------------------------------------------------------- (a)
def sc_map(n_problems: int, seed: int = 0) -> dict:
    """Exact and sampled mean SC gain@K over the epsilon x T grid, with per-cell z-scores."""
    cfg = BankConfig(**{**MAP_BANK.__dict__, "n_problems": n_problems})
    bank = make_bank(cfg, jax.random.PRNGKey(1))
    z = logits(init_policy(MAP_POLICY, jax.random.PRNGKey(2), n_problems, cfg.n_strategies))
    f = jnp.result_type(float)
    eps = jnp.asarray(EPSILONS, f)
    temps = jnp.asarray(TEMPS, f)
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(5), seed), len(EPSILONS) * len(TEMPS))
    keys = keys.reshape((len(EPSILONS), len(TEMPS)) + keys.shape[1:])

    def cell(e, T, k):
        b = bank.replace(epsilon=e)
        return answer_probs(z, b, T), sample_answer_counts(k, z, b, T, N_SAMPLES)

    ap, counts = jax.jit(jax.vmap(jax.vmap(cell, (None, 0, 0)), (0, None, 0)))(eps, temps, keys)
    ap = np.asarray(ap, np.float64)
    ap /= ap.sum(-1, keepdims=True)
    counts = np.asarray(counts, np.int64)
    p0 = ap[..., 0]
    c0 = counts[..., 0] / N_SAMPLES
    out = {"pass1_exact": p0.mean(-1), "pass1_sampled": c0.mean(-1)}
    for K in KS:
        ex = np.asarray(plurality_accuracy(ap, K), np.float64) - p0  # [E, T, P]
        sa = np.asarray(maj_at_k(counts, K), np.float64) - c0
        d = sa - ex
        D = d.mean(-1)
        se = np.sqrt(np.sum(d ** 2, axis=-1)) / n_problems
        zs = np.where(se > 0, D / np.where(se > 0, se, 1.0), 0.0)
        out[K] = {"exact": ex.mean(-1), "sampled": sa.mean(-1), "diff": D, "se": se, "z": zs,
                  "neg_frac_exact": (ex < 0).mean(-1)}
    return out


def _map_figures(out_dir: Path, res: dict) -> list[str]:
    plt = pyplot()

    names = []
    fig, axes = plt.subplots(1, len(KS), figsize=(11, 4.4))
    E, T = np.array(EPSILONS), np.array(TEMPS)
    for ax, K in zip(axes, KS):
        g = res[K]["exact"]
        vmax = float(np.max(np.abs(g))) or 1.0
        im = ax.imshow(g, origin="lower", cmap="RdBu", vmin=-vmax, vmax=vmax, aspect="auto",
                       extent=(-0.5, len(T) - 0.5, -0.5, len(E) - 0.5))
        xx, yy = np.meshgrid(np.arange(len(T)), np.arange(len(E)))
        if g.min() < 0 < g.max():
            ax.contour(xx, yy, g, levels=[0.0], colors="k", linewidths=1.5)
        neg = g < 0
        ax.scatter(xx[neg], yy[neg], marker="x", c="k", s=25, label="SC gain < 0")
        ax.set_xticks(range(len(T)), [f"{t:.2g}" for t in T])
        ax.set_yticks(range(len(E)), [f"{e:.3g}" for e in E])
        ax.set_xlabel("sampling temperature T")
        ax.set_ylabel("error consistency knob epsilon (0 = consistent)")
        ax.set_title(f"exact SC gain maj@{K} - pass@1 (mean over problems)")
        fig.colorbar(im, ax=ax)
        if neg.any():
            ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "sc_gain_map.png")
    plt.close(fig)
    names.append("sc_gain_map.png")

    fig, axes = plt.subplots(1, len(KS), figsize=(10, 4))
    for ax, K in zip(axes, KS):
        ex, sa, se = res[K]["exact"].ravel(), res[K]["sampled"].ravel(), res[K]["se"].ravel()
        ax.errorbar(ex, sa, yerr=2 * se, fmt="o", ms=3, lw=0.8)
        lo, hi = min(ex.min(), sa.min()), max(ex.max(), sa.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"exact SC gain@{K} (theory)")
        ax.set_ylabel(f"sampled SC gain@{K} (n = {N_SAMPLES}, ±2 SE)")
        ax.set_title(f"K = {K}: max |z| = {np.abs(res[K]['z']).max():.2f}")
    fig.tight_layout()
    save_figure(fig, out_dir / "sampled_vs_exact.png")
    plt.close(fig)
    names.append("sampled_vs_exact.png")
    return names


# ----------------------------------------------------------------------------------------------- (b)
def _train(attractor: float, trap_fraction: float, sharings, seed: int):
    """One GRPO run per sharing value on the trap bank; exact answer probs [G, C, P, m] (float64)."""
    bank = make_bank(BankConfig(n_problems=TRAIN_P, attractor=attractor, trap_fraction=trap_fraction,
                                epsilon=TRAIN_EPS), jax.random.PRNGKey(1))
    pol = init_policy(TRAIN_POLICY, jax.random.PRNGKey(2), TRAIN_P, 16, CONFIG.temperature)
    base = CONFIG.hyper()
    hyper = stack_hypers([base._replace(sharing=jnp.asarray(s, base.sharing.dtype)) for s in sharings])
    keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(3), seed)] * len(sharings))
    out = run_many(make_run(CONFIG), keys, bank, pol, hyper, vary=("hyper",))
    ap = np.asarray(out.checkpoints.answer_probs, np.float64)
    ap /= ap.sum(-1, keepdims=True)
    return ap, np.asarray(out.checkpoints.strategy_entropy, np.float64), np.asarray(out.steps[0], np.int64)


def trajectory_stats(ap: np.ndarray) -> dict:
    """Per-checkpoint exact pass@1 and SC gain@K from answer probs [C, P, m], plus selection stats."""
    p1 = ap[..., 0].mean(-1)
    sc = {K: (np.asarray(plurality_accuracy(ap, K), np.float64) - ap[..., 0]) for K in KS}  # [C, P]
    risen = p1 - p1[0] >= RISEN_AT
    scm = sc[K_MAIN].mean(-1)
    return {"pass1": p1, "sc_per_problem": sc, "sc": {K: v.mean(-1) for K, v in sc.items()},
            "rise": float(p1[-1] - p1[0]), "mono": float(np.mean(np.diff(p1) > 0)),
            "min_sc_after_rise": float(scm[risen].min()) if risen.any() else float("nan"), "risen": risen}


def diagnose(ap: np.ndarray, sc_per_problem: np.ndarray) -> dict:
    """Split the SC gain of one checkpoint (probs [P, m], per-problem gain [P]) into two classes."""
    P = ap.shape[0]
    consistent = ap[:, 1:].max(axis=1) > ap[:, 0]
    out = {"total": float(sc_per_problem.mean())}
    for name, mask in (("consistent", consistent), ("scattered", ~consistent)):
        g = sc_per_problem[mask]
        out[name] = {"n": int(mask.sum()), "contribution": float(g.sum() / P), "loss": float(np.minimum(g, 0).sum() / P)}
    out["identity_error"] = abs(out["consistent"]["contribution"] + out["scattered"]["contribution"] - out["total"])
    out["mask"] = consistent
    return out


def _traj_figure(out_dir: Path, steps, st: dict, diags: dict) -> str:
    plt = pyplot()

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    a1.plot(steps, st["pass1"], "k-o", ms=3, label="pass@1 (exact)")
    a1.set_xlabel("training step")
    a1.set_ylabel("pass@1")
    b = a1.twinx()
    for K, c in zip(KS, ("tab:blue", "tab:red")):
        b.plot(steps, st["sc"][K], "-", color=c, label=f"SC gain@{K}")
        neg = st["sc"][K] < 0
        b.scatter(steps[neg], st["sc"][K][neg], color=c, marker="v", s=40, zorder=3)
    b.axhline(0, color="gray", lw=0.8, ls=":")
    b.set_ylabel("SC gain = maj@K - pass@1 (exact); ▼ negative")
    h1, l1 = a1.get_legend_handles_labels()
    h2, l2 = b.get_legend_handles_labels()
    a1.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    a1.set_title("GRPO run on the trap bank")

    ts = sorted(diags)
    if ts:
        x = np.arange(len(ts))
        cons = np.array([diags[t]["consistent"]["contribution"] for t in ts])
        scat = np.array([diags[t]["scattered"]["contribution"] for t in ts])
        tot = np.array([diags[t]["total"] for t in ts])
        pos_base, neg_base = np.zeros(len(ts)), np.zeros(len(ts))
        for vals, lab, col in ((cons, "consistent errors (max wrong > p0)", "tab:red"),
                               (scat, "scattered (p0 still top)", "tab:blue")):
            bottom = np.where(vals >= 0, pos_base, neg_base)
            a2.bar(x, vals, bottom=bottom, color=col, label=lab)
            pos_base += np.maximum(vals, 0)
            neg_base += np.minimum(vals, 0)
        a2.plot(x, tot, "k_", ms=20, mew=2, label="total SC gain")
        a2.set_xticks(x, [str(int(steps[t])) for t in ts], rotation=90 if len(ts) > 12 else 0)
        a2.axhline(0, color="gray", lw=0.8)
        a2.legend(fontsize=8)
    else:
        a2.text(0.5, 0.5, f"no checkpoint with SC gain@{K_MAIN} < 0", ha="center", transform=a2.transAxes)
    a2.set_xlabel("step of a checkpoint with SC gain@32 < 0")
    a2.set_ylabel("contribution to mean SC gain@32")
    a2.set_title("diagnosis: (1/P) sum of per-problem SC gain by class")
    fig.tight_layout()
    save_figure(fig, out_dir / "trajectory.png")
    plt.close(fig)
    return "trajectory.png"


# ----------------------------------------------------------------------------------------------- (c)
def _sc_keys(seed: int):
    """Keys of part (c): pool bank, test bank, pool policy, test policy, training, sampling."""
    return jax.random.split(jax.random.fold_in(jax.random.PRNGKey(SC_KEY), seed), 6)


def _sc_banks(ks, pool_shares, kinds, slips=SC_SLIPS, pool_hit_max=None):
    """Pool bank and held-out test bank of one part-(c) spec (traceable); ``pool_hit_max`` caps the pool's zero-hit step."""
    common = dict(len_min=SC_LEN[0], len_max=SC_LEN[1], strategy_kinds=tuple(kinds), strategy_slips=tuple(slips), n_answers=SC_M)
    pool = make_shortcut_bank(ShortcutBankConfig(n_problems=SC_P_POOL, share_trap_right=pool_shares[0], hit_max=pool_hit_max,
                                                 share_trap_wrong=pool_shares[1], **common), ks[0])
    test = make_shortcut_bank(ShortcutBankConfig(n_problems=SC_P_TEST, share_trap_right=SC_TEST_SHARES[0],
                                                 share_trap_wrong=SC_TEST_SHARES[1], **common), ks[1])
    return pool, test


@functools.lru_cache(maxsize=8)
def _sc_builder(specs: tuple):
    """One jitted program building every spec's (pool bank, test bank), stacked on a leading axis, and the
    base policies shared by all specs (pool base policy, test-problem base logits v)."""

    def build(ks):
        banks = [_sc_banks(ks, *spec) for spec in specs]
        pools, tests = (jax.tree.map(lambda *a: jnp.stack(a), *[b[i] for b in banks]) for i in range(2))
        pol = shortcut_base_policy(SC_BASE_PROBS, SC_PROBLEM_SCALE, ks[2], SC_P_POOL)
        vt = shortcut_base_policy(SC_BASE_PROBS, SC_PROBLEM_SCALE, ks[3], SC_P_TEST).v
        return pools, tests, pol, vt

    return jax.jit(build)


# one compiled training run shared by every spec and seed: it records the shared logits u at each checkpoint
# (the held-out evaluation u + v_test is applied afterwards, see held_out_evaluator)
_SC_RUN = make_shortcut_run(CONFIG, evaluate=lambda policy, hyper: policy.u)


@jax.jit
def _sc_evaluate(u, tests, vt, hyper):
    """Held-out test evaluation of u [G, C, S]: {"answer_probs": [G, C, P_test, m], "logits": [G, C, P_test, S]}."""
    def one(u_g, test):
        return jax.vmap(lambda u_c: held_out_evaluator(test, vt)(Policy(u_c, vt), hyper))(u_g)

    return jax.vmap(one)(u, tests)


def shortcut_runs(specs, seed: int):
    """Train one run per spec (pool_shares, kinds[, slips]) with the same keys (common random numbers) and
    evaluate every checkpoint on the held-out test set: answer probs [G, C, P_test, m] (float64,
    renormalized), test logits [G, C, P_test, S], the test banks (list) and the sampling key."""
    specs = tuple(tuple(x if x is None or isinstance(x, int) else tuple(x) for x in spec) for spec in specs)
    ks = _sc_keys(seed)
    pools, tests, pol, vt = _sc_builder(specs)(ks)
    take = lambda tree, g: jax.tree.map(lambda x: x[g], tree)
    u = jnp.stack([_SC_RUN(ks[4], take(pools, g), pol, CONFIG.hyper()).evaluations for g in range(len(specs))])
    ev = _sc_evaluate(u, tests, vt, CONFIG.hyper())
    ap = np.asarray(ev["answer_probs"], np.float64)
    ap /= ap.sum(-1, keepdims=True)
    return ap, np.asarray(ev["logits"], np.float64), [take(tests, g) for g in range(len(specs))], ks[5]


def split_masks(ap0: np.ndarray, klass: np.ndarray) -> dict:
    """Test splits from the base checkpoint's exact pass rate p0 [P] and the class [P]."""
    hard = ap0[:, 0] < SC_HARD
    return {"all": np.ones_like(hard), "easy": ~hard, "hard": hard, "trap_wrong": klass == TRAP_WRONG}


def plurality_chunked(ap: np.ndarray, K: int, chunk: int | None) -> np.ndarray:
    """``theory.voting.plurality_accuracy(ap, K)`` evaluated in fixed batches of ``chunk`` problems (the last
    one padded with copies of the first row), so that the compiled program of part (a)'s map (batch
    8 x 8 x n_map problems, the same m and K) is reused instead of compiled again. Same values."""
    flat = ap.reshape(-1, ap.shape[-1])
    if chunk is None:
        return np.asarray(plurality_accuracy(ap, K), np.float64)
    n_pad = -flat.shape[0] % chunk
    padded = np.concatenate([flat, np.repeat(flat[:1], n_pad, axis=0)])
    out = np.concatenate([np.asarray(plurality_accuracy(padded[i:i + chunk], K), np.float64) for i in range(0, padded.shape[0], chunk)])
    return out[:flat.shape[0]].reshape(ap.shape[:-1])


def sc_gains(ap: np.ndarray, chunk: int | None = None) -> dict:
    """Exact per-problem SC gain@K = maj@K - p0 for K in KS, any leading shape of answer probs [..., m]."""
    return {K: plurality_chunked(ap, K, chunk) - ap[..., 0] for K in KS}


def split_trajectories(ap: np.ndarray, klass: np.ndarray, sc: dict | None = None) -> dict:
    """Per-split exact pass@1 and SC gain@K trajectories of one run (answer probs [C, P, m]; ``sc`` its
    per-problem gains from ``sc_gains`` if already computed)."""
    masks = split_masks(ap[0], klass)
    sc = sc_gains(ap) if sc is None else sc
    out = {"masks": masks, "sc_per_problem": sc}
    for name, m in masks.items():
        out[name] = {"n": int(m.sum()), "pass1": ap[:, m, 0].mean(-1), **{f"sc@{K}": sc[K][:, m].mean(-1) for K in KS}}
    return out


def sampled_sc_gain(key, z: np.ndarray, bank, mask: np.ndarray, n: int, K: int = K_MAIN, n_boot: int = SC_BOOT) -> dict:
    """Sampled SC gain@K on a split at one checkpoint: n rollouts per test problem (``sample_shortcut_answer_counts``),
    per-problem unbiased maj@K minus c0/n, split mean, SE = sd/sqrt(P_split), 95% percentile bootstrap over problems."""
    counts = np.asarray(sample_shortcut_answer_counts(key, jnp.asarray(z), bank, CONFIG.eval_temperature, n), np.int64)
    g = (np.asarray(maj_at_k(counts, K), np.float64) - counts[:, 0] / n)[mask]
    rng = np.random.default_rng(SC_KEY)
    boot = g[rng.integers(0, g.size, (n_boot, g.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"n": n, "K": K, "problems": int(g.size), "mean": float(g.mean()), "se": float(g.std(ddof=1) / np.sqrt(g.size)),
            "ci95": [float(lo), float(hi)]}


def coverage_rotation(ap: np.ndarray, mask: np.ndarray, k: int = SC_COVER_K, J: int = SC_COVER_J) -> dict:
    """Exact pass@k of the union of J evenly spaced checkpoints (k/J samples each) vs the best single
    checkpoint with k samples, mean over the split's problems: 1 - prod_j (1 - p_j)^(k/J) vs max_j 1 - (1 - p_j)^k."""
    idx = np.unique(np.round(np.linspace(0, ap.shape[0] - 1, J)).astype(int))
    p = ap[idx][:, mask, 0]  # [J, P_split]
    union = float(np.mean(1.0 - np.prod((1.0 - p) ** (k // len(idx)), axis=0)))
    singles = np.mean(1.0 - (1.0 - p) ** k, axis=1)
    return {"checkpoints": idx.tolist(), "k": k, "union": union, "best_single": float(singles.max()),
            "best_checkpoint": int(idx[int(np.argmax(singles))]), "union_minus_best": union - float(singles.max())}


def _lowest_hard_sc(tr: dict, checkpoints: np.ndarray) -> tuple[int, float]:
    """(checkpoint, value) of the smallest hard-split SC gain@K_MAIN among ``checkpoints``; (-1, nan) when there are none."""
    if checkpoints.size == 0:
        return -1, float("nan")
    t = int(checkpoints[np.argmin(tr["hard"][f"sc@{K_MAIN}"][checkpoints])])
    return t, float(tr["hard"][f"sc@{K_MAIN}"][t])


def dip_of(tr: dict) -> tuple[int, float]:
    """(checkpoint, value) of the smallest hard-split SC gain@K_MAIN among checkpoints where overall pass@1 rose >= RISE_MIN."""
    p1 = tr["all"]["pass1"]
    risen = np.flatnonzero(p1 - p1[0] >= RISE_MIN)
    return _lowest_hard_sc(tr, risen)


def dip_while_rising(tr: dict) -> tuple[int, float]:
    """Like ``dip_of`` but only over checkpoints where overall pass@1 is also at its running maximum (still rising)."""
    p1 = tr["all"]["pass1"]
    ok = np.flatnonzero((p1 - p1[0] >= RISE_MIN) & (p1 >= np.maximum.accumulate(p1) - 1e-12))
    return _lowest_hard_sc(tr, ok)


def dip_with_hard_rise(tr: dict) -> tuple[int, float]:
    """(checkpoint, value) of the smallest hard-split SC gain@K_MAIN among checkpoints where the hard split's own pass@1
    has risen by >= RISEN_AT over the base (negative SC gain while pass@1 rose, within the split)."""
    p1 = tr["hard"]["pass1"]
    ok = np.flatnonzero(p1 - p1[0] >= RISEN_AT)
    return _lowest_hard_sc(tr, ok)


def strategy_shares(z: np.ndarray, mask: np.ndarray) -> list[float]:
    """Mean strategy probabilities softmax(z / T_eval) over the split's problems, per checkpoint: [C, S]."""
    pi = np.asarray(jax.nn.softmax(jnp.asarray(z) / CONFIG.eval_temperature, axis=-1), np.float64)
    return pi[:, mask].mean(axis=1)


def _shortcut_figure(out_dir: Path, steps, trs: dict, t_dip: int) -> str:
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    tr = trs["chosen"]
    for sp, c in (("all", "k"), ("easy", "tab:blue"), ("hard", "tab:red"), ("trap_wrong", "tab:purple")):
        axes[0].plot(steps, tr[sp]["pass1"], "-o", ms=3, color=c, label=f"{sp} ({tr[sp]['n']})")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("exact pass@1 on held-out test problems")
    axes[0].set_title("zero-absorbs shortcut: pass@1 per split")
    axes[0].legend(fontsize=8)
    for ax, K in zip(axes[1:], KS):
        for v, ls in (("chosen", "-"), ("control_mix", "--"), ("control_no_shortcut", ":")):
            for sp, c in (("easy", "tab:blue"), ("hard", "tab:red")):
                ax.plot(steps, trs[v][sp][f"sc@{K}"], ls, color=c, label=f"{v} / {sp}")
        if t_dip >= 0:
            ax.axvline(steps[t_dip], color="gray", lw=0.8, ls="-.")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xlabel("training step")
        ax.set_ylabel(f"exact SC gain maj@{K} - pass@1")
        ax.set_title(f"K = {K}: chosen (solid) vs controls (dashed: pool mix, dotted: no shortcut)", fontsize=9)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "shortcut_trajectory.png")
    plt.close(fig)
    return "shortcut_trajectory.png"


# ----------------------------------------------------------------------------------------------- run
def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    out_dir = Path(results_dir or RESULTS_DIR) / NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ["part,setting,epsilon,T,K,checkpoint,step,metric,value"]

    # (a) map
    n_map = 128 if quick else MAP_BANK.n_problems
    mres = sc_map(n_map, seed)
    t_map = time.perf_counter() - t0
    for i, e in enumerate(EPSILONS):
        for j, T in enumerate(TEMPS):
            rows.append(f"map,base,{e:.6g},{T:.6g},,,,pass1_exact,{mres['pass1_exact'][i, j]:.6g}")
            rows.append(f"map,base,{e:.6g},{T:.6g},,,,pass1_sampled,{mres['pass1_sampled'][i, j]:.6g}")
            for K in KS:
                for name in ("exact", "sampled", "diff", "se", "z", "neg_frac_exact"):
                    rows.append(f"map,base,{e:.6g},{T:.6g},{K},,,sc_gain_{name},{mres[K][name][i, j]:.6g}")
    zmax = max(float(np.abs(mres[K]["z"]).max()) for K in KS)
    mad = {K: float(np.abs(mres[K]["diff"]).mean()) for K in KS}
    n_neg = {K: int((mres[K]["exact"] < 0).sum()) for K in KS}
    n_pos = {K: int((mres[K]["exact"] > 0).sum()) for K in KS}
    figures = _map_figures(out_dir, mres)

    # (b) search (full mode) and the chosen run
    t1 = time.perf_counter()
    search = []
    if not quick:
        for att, tf in itertools.product(SEARCH["attractor"], SEARCH["trap_fraction"]):
            ap_s, _, _ = _train(att, tf, SEARCH["sharing"], seed)
            for g, sh in enumerate(SEARCH["sharing"]):
                st = trajectory_stats(ap_s[g])
                search.append({"attractor": att, "trap_fraction": tf, "sharing": sh, "rise": st["rise"], "mono": st["mono"],
                               f"sc{K_MAIN}_first": float(st["sc"][K_MAIN][0]),
                               f"sc{K_MAIN}_min_after_rise": st["min_sc_after_rise"],
                               f"sc{K_MAIN}_max": float(st["sc"][K_MAIN].max())})
        ok = [s for s in search if s["rise"] >= RISE_MIN and s["mono"] >= MONO_MIN and np.isfinite(s[f"sc{K_MAIN}_min_after_rise"])]
        best = min(ok, key=lambda s: s[f"sc{K_MAIN}_min_after_rise"]) if ok else None
        selected = {k: best[k] for k in CHOSEN} if best else None
        for s in search:
            tag = f"att={s['attractor']};trap={s['trap_fraction']};sharing={s['sharing']}"
            for k in ("rise", "mono", f"sc{K_MAIN}_first", f"sc{K_MAIN}_min_after_rise", f"sc{K_MAIN}_max"):
                rows.append(f"search,{tag},{TRAIN_EPS},{CONFIG.temperature},{K_MAIN if 'sc' in k else ''},,,{k},{s[k]:.6g}")
    else:
        selected = None
    chosen = selected or CHOSEN
    ap_all, ent_all, steps = _train(chosen["attractor"], chosen["trap_fraction"], (chosen["sharing"],), seed)
    ap, ent = ap_all[0], ent_all[0]
    st = trajectory_stats(ap)
    t_train = time.perf_counter() - t1
    save_checkpoints(out_dir, {"answer_probs": ap, "steps": steps, "strategy_entropy": ent})

    tag = f"att={chosen['attractor']};trap={chosen['trap_fraction']};sharing={chosen['sharing']}"
    for t in range(len(steps)):
        rows.append(f"train,{tag},{TRAIN_EPS},{CONFIG.eval_temperature},,{t},{steps[t]},pass1_exact,{st['pass1'][t]:.6g}")
        for K in KS:
            rows.append(f"train,{tag},{TRAIN_EPS},{CONFIG.eval_temperature},{K},{t},{steps[t]},sc_gain_exact,{st['sc'][K][t]:.6g}")

    base_mask = ap[0, :, 1:].max(axis=1) > ap[0, :, 0]
    diag_rows = ["K,checkpoint,step,class,n_problems,n_newly_consistent,contribution,loss,total_sc_gain,identity_error"]
    diags = {K: {} for K in KS}
    for K in KS:
        for t in np.flatnonzero(st["sc"][K] < 0):
            d = diagnose(ap[t], st["sc_per_problem"][K][t])
            diags[K][int(t)] = d
            newly = int(np.sum(d["mask"] & ~base_mask))
            for cls in ("consistent", "scattered"):
                diag_rows.append(f"{K},{t},{steps[t]},{cls},{d[cls]['n']},{newly if cls == 'consistent' else ''},"
                                 f"{d[cls]['contribution']:.8g},{d[cls]['loss']:.8g},{d['total']:.8g},{d['identity_error']:.3g}")
    atomic_write_text(out_dir / "diagnosis.csv", "\n".join(diag_rows) + "\n")
    figures.append(_traj_figure(out_dir, steps, st, diags[K_MAIN]))

    # (c) the zero-absorbs shortcut: chosen setting and two controls (one vmapped call), per-split trajectories
    t2 = time.perf_counter()
    names = list(SC_VARIANTS)
    ap_c, z_c, tests_c, k_samp = shortcut_runs([SC_VARIANTS[v] for v in names], seed)
    klass_c = [np.asarray(b.klass) for b in tests_c]
    chunk = len(EPSILONS) * len(TEMPS) * n_map  # part (a)'s vote batch
    sc_c = sc_gains(ap_c, chunk)
    trs = {v: split_trajectories(ap_c[g], klass_c[g], {K: sc_c[K][g] for K in KS}) for g, v in enumerate(names)}
    tr = trs["chosen"]
    t_dip, dip = dip_of(tr)
    sc_hard0 = float(tr["hard"][f"sc@{K_MAIN}"][0])
    min_easy = float(tr["easy"][f"sc@{K_MAIN}"].min())
    samp_c = {}
    if t_dip >= 0:
        for j, n in enumerate(SC_NS[:1] if quick else SC_NS):
            kk = jax.random.fold_in(k_samp, j)
            samp_c[str(n)] = {"dip": sampled_sc_gain(kk, z_c[0, t_dip], tests_c[0], tr["masks"]["hard"], n),
                              "base": sampled_sc_gain(kk, z_c[0, 0], tests_c[0], tr["masks"]["hard"], n)}
    ub = max((s["dip"]["ci95"][1] for s in samp_c.values()), default=float("nan"))
    ctl_min = {v: min(float(trs[v][sp][f"sc@{K}"].min()) for sp in ("all", "easy", "hard", "trap_wrong") for K in KS) for v in names[1:]}
    shares = {v: strategy_shares(z_c[g], trs[v]["masks"]["trap_wrong"]) for g, v in enumerate(names)}
    cover = {v: {sp: coverage_rotation(ap_c[g], trs[v]["masks"][sp]) for sp in ("all", "hard")} for g, v in enumerate(names)}
    pool_cfg = ShortcutBankConfig(n_problems=SC_P_POOL, n_answers=SC_M, share_trap_right=SC_POOL_CHOSEN[0], share_trap_wrong=SC_POOL_CHOSEN[1],
                                  len_min=SC_LEN[0], len_max=SC_LEN[1], strategy_kinds=SC_KINDS, strategy_slips=SC_SLIPS)
    r_star = break_even_trap_right_share(pool_cfg, shortcut=2, full=0)
    for g, v in enumerate(names):
        for t in range(len(steps)):
            for sp in ("all", "easy", "hard", "trap_wrong"):
                rows.append(f"shortcut,{v};{sp},,{CONFIG.eval_temperature},,{t},{steps[t]},pass1_exact,{trs[v][sp]['pass1'][t]:.6g}")
                for K in KS:
                    rows.append(f"shortcut,{v};{sp},,{CONFIG.eval_temperature},{K},{t},{steps[t]},sc_gain_exact,{trs[v][sp][f'sc@{K}'][t]:.6g}")
            rows.append(f"shortcut,{v};trap_wrong,,{CONFIG.eval_temperature},,{t},{steps[t]},shortcut_share,{shares[v][t, 2]:.6g}")

    # full mode: seeds (chosen + controls) and the pool-mix sweep
    seeds_c, sweep_c = [], []
    if not quick:
        names_s = names + ["slip_free_shortcut"]
        specs_s = [SC_VARIANTS[v] for v in names] + [(SC_POOL_CHOSEN, SC_KINDS, SC_SLIPS_SLIP_FREE)]
        for s_ in range(SC_SEEDS + 1):
            ap_s, z_s, tests_s, ks_s = shortcut_runs(specs_s, seed + s_)
            sc_s = sc_gains(ap_s, chunk)
            row = {"seed": seed + s_}
            for g, v in enumerate(names_s):
                tr_s = split_trajectories(ap_s[g], np.asarray(tests_s[g].klass), {K: sc_s[K][g] for K in KS})
                td, dv = dip_of(tr_s)
                row[v] = {"dip": dv, "dip_step": int(steps[td]) if td >= 0 else None, "sc_hard_base": float(tr_s["hard"][f"sc@{K_MAIN}"][0]),
                          "max_rise": float((tr_s["all"]["pass1"] - tr_s["all"]["pass1"][0]).max()), "hard_n": tr_s["hard"]["n"],
                          "min_sc_any_split": min(float(tr_s[sp][f"sc@{K}"].min()) for sp in ("all", "easy", "hard", "trap_wrong") for K in KS),
                          "dip_while_rising": dip_while_rising(tr_s)[1], "dip_with_hard_rise": dip_with_hard_rise(tr_s)[1],
                          "min_sc5_hard": float(tr_s["hard"]["sc@5"].min())}
                if v in ("chosen", "slip_free_shortcut") and td >= 0:
                    row[v]["sampled_n64"] = sampled_sc_gain(jax.random.fold_in(ks_s, 1), z_s[g, td], tests_s[g], tr_s["masks"]["hard"], 64)
            seeds_c.append(row)
        grid = [(r, hm) for hm in (None, 1) for r in SC_SWEEP_R]
        specs = [((SC_SWEEP_HIT * r, SC_SWEEP_HIT * (1 - r)), SC_KINDS, SC_SLIPS, hm) for r, hm in grid]
        ap_w, _, tests_w, _ = shortcut_runs(specs, seed)
        sc_w = sc_gains(ap_w, chunk)
        for g, (r, hm) in enumerate(grid):
            tr_w = split_trajectories(ap_w[g], np.asarray(tests_w[g].klass), {K: sc_w[K][g] for K in KS})
            td, dv = dip_of(tr_w)
            cfg_w = dataclasses.replace(pool_cfg, hit_max=hm)
            sweep_c.append({"trap_right_share": r, "pool_hit_max": hm, "pool_shares": list(specs[g][0]), "dip": dv,
                            "dip_step": int(steps[td]) if td >= 0 else None, "min_sc_hard": float(tr_w["hard"][f"sc@{K_MAIN}"].min()),
                            "max_rise": float((tr_w["all"]["pass1"] - tr_w["all"]["pass1"][0]).max()),
                            "break_even_r_star": break_even_trap_right_share(cfg_w, shortcut=2, full=0)})
    t_short = time.perf_counter() - t2
    figures.append(_shortcut_figure(out_dir, steps, trs, t_dip))
    atomic_write_text(out_dir / "data.csv", "\n".join(rows) + "\n")

    # claims
    scm = st["sc"][K_MAIN]
    turns = any(scm[t] < 0 and np.any(scm[:t] > 0) and st["risen"][t] for t in range(len(scm)))
    id_err = max([d["identity_error"] for K in KS for d in diags[K].values()], default=0.0)
    n_diag = sum(len(diags[K]) for K in KS)
    claims = [
        Claim(f"(a) sampled SC gain (n = {N_SAMPLES} samples/problem, unbiased maj@K) agrees with theory's exact SC gain: "
              f"max |sampled - exact| / SE over {len(EPSILONS)}x{len(TEMPS)} cells x K in {list(KS)} <= {Z_MAX} "
              f"(mean |diff| K=5: {mad[5]:.4f}, K=32: {mad[32]:.4f})", zmax <= Z_MAX, zmax, Z_MAX),
        Claim(f"(a) the exact SC gain map has negative and positive cells for K = 5 and 32 "
              f"(negative cells K=5: {n_neg[5]}, K=32: {n_neg[32]} of {len(EPSILONS) * len(TEMPS)}); value = negative cells at K = 32",
              all(n_neg[K] > 0 and n_pos[K] > 0 for K in KS), n_neg[K_MAIN], 1),
        Claim(f"(b) exact pass@1 rises: last - first >= {RISE_MIN} ({st['pass1'][0]:.3f} -> {st['pass1'][-1]:.3f}) and "
              f"increases at >= {MONO_MIN:.0%} of checkpoint steps (measured {st['mono']:.0%})",
              st["rise"] >= RISE_MIN and st["mono"] >= MONO_MIN, st["rise"], RISE_MIN),
        Claim(f"(b) exact SC gain@{K_MAIN} < 0 at >= 1 checkpoint after pass@1 has risen by >= {RISEN_AT}; "
              "value = the smallest such SC gain", st["min_sc_after_rise"] < 0, st["min_sc_after_rise"], 0.0),
        Claim(f"(b) strict 'turns negative': SC gain@{K_MAIN} < 0 at a checkpoint (after pass@1 rose by >= {RISEN_AT}) "
              "following a checkpoint with SC gain > 0; value = 1 if so", bool(turns), float(turns), 1.0),
        Claim(f"(b) diagnosis identity: consistent + scattered contributions = total SC gain at every one of the "
              f"{n_diag} negative (checkpoint, K) pairs; value = max |error|", n_diag > 0 and id_err <= IDENTITY_TOL, id_err, IDENTITY_TOL),
        Claim(f"(c) zero-absorbs shortcut, held-out test set: exact SC gain@{K_MAIN} on the hard split (base pass rate < {SC_HARD}, "
              f"{tr['hard']['n']} of {SC_P_TEST} problems) <= {SC_DIP_MAX} at a checkpoint where overall pass@1 has risen by >= {RISE_MIN} "
              f"(step {int(steps[t_dip]) if t_dip >= 0 else 'none'}, overall pass@1 {tr['all']['pass1'][0]:.3f} -> "
              f"{tr['all']['pass1'][max(t_dip, 0)]:.3f}); value = the smallest such SC gain", bool(dip <= SC_DIP_MAX), dip, SC_DIP_MAX),
        Claim(f"(c) a real 'turns negative': the hard split's exact SC gain@{K_MAIN} is >= 0 at the base checkpoint; value = base SC gain",
              sc_hard0 >= 0, sc_hard0, 0.0),
        Claim(f"(c) beyond sampling noise: sampled SC gain@{K_MAIN} on the hard split at the dip checkpoint, n in {[int(n) for n in samp_c]} "
              f"samples per "
              f"problem (unbiased maj@K), 95% bootstrap interval over problems entirely below 0; value = the largest upper end",
              bool(samp_c) and ub < 0, ub, 0.0),
        Claim(f"(c) the dip is a hard-split effect: the easy split's exact SC gain@{K_MAIN} stays > 0 at every checkpoint; value = its minimum",
              min_easy > 0, min_easy, 0.0),
        Claim(f"(c) control, RL pool with the test set's class mix {list(SC_TEST_SHARES)} (the shortcut is wrong more often than right): "
              f"no checkpoint with exact SC gain@K < 0 (K in {list(KS)}) on any split (all, easy, hard, trap-wrong); value = the minimum",
              ctl_min["control_mix"] >= 0, ctl_min["control_mix"], 0.0),
        Claim("(c) control, no shortcut in the base (strategy 2 = the careful full procedure): no checkpoint with exact SC gain@K < 0 "
              "on any split; value = the minimum", ctl_min["control_no_shortcut"] >= 0, ctl_min["control_no_shortcut"], 0.0),
    ]

    diag_summary = {str(K): {str(int(steps[t])): {"total": d["total"], "consistent": d["consistent"], "scattered": d["scattered"]}
                             for t, d in diags[K].items()} for K in KS}
    setting = {
        "map": {"bank": MAP_BANK.__dict__ | {"n_problems": n_map}, "bank_key": 1, "policy": MAP_POLICY.__dict__, "policy_key": 2,
                "policy_kind": "fixed base policy (untrained)", "epsilons": list(EPSILONS), "temperatures": list(TEMPS),
                "Ks": list(KS), "n_samples": N_SAMPLES, "sample_key": f"fold_in(PRNGKey(5), {seed}) split per cell",
                "se": "sqrt(sum_i d_i^2)/P, d_i = sampled_i - exact_i", "z_max": Z_MAX},
        "train": {"n_problems": TRAIN_P, "epsilon": TRAIN_EPS, "bank_key": 1, "policy": TRAIN_POLICY.__dict__, "policy_key": 2,
                  "config": CONFIG.__dict__, "train_key": f"fold_in(PRNGKey(3), {seed})", "search_grid": {k: list(v) for k, v in SEARCH.items()},
                  "chosen": chosen, "chosen_by": "search (full mode)" if selected else "fixed CHOSEN (quick mode or no qualifying setting)",
                  "selection_rule": f"rise >= {RISE_MIN}, mono >= {MONO_MIN}, then min SC gain@{K_MAIN} after pass@1 rose >= {RISEN_AT}",
                  "diagnosis_classes": "consistent: max_{a!=0} p_a > p0; scattered: otherwise"},
    }
    setting["shortcut"] = {
        "module": "sim.shortcut", "n_answers": SC_M, "chain_length": list(SC_LEN), "strategy_kinds": list(SC_KINDS),
        "strategy_slips_per_step": list(SC_SLIPS), "base_probs": list(SC_BASE_PROBS), "problem_scale": SC_PROBLEM_SCALE,
        "pool": {"n_problems": SC_P_POOL, "shares_trap_right_wrong": list(SC_POOL_CHOSEN)},
        "test": {"n_problems": SC_P_TEST, "shares_trap_right_wrong": list(SC_TEST_SHARES), "held_out": True,
                 "evaluation": "trained shared logits u + fixed test-problem base logits v (sim.shortcut.held_out_evaluator)"},
        "variants": {v: {"pool_shares": list(p), "kinds": list(k)} for v, (p, k) in SC_VARIANTS.items()},
        "config": CONFIG.__dict__, "keys": f"split(fold_in(PRNGKey({SC_KEY}), {seed}), 6): pool bank, test bank, pool policy, test policy, "
                                           "training, sampling",
        "hard_split": f"base exact pass rate < {SC_HARD}",
        "dip_rule": f"min hard SC gain@{K_MAIN} over checkpoints with overall pass@1 rise >= {RISE_MIN}",
        "sampled": {"n": list(SC_NS), "bootstrap": SC_BOOT, "interval": "95% percentile bootstrap over the split's problems"},
        "break_even_trap_right_share": r_star, "exploratory_search": SC_SEARCH_DOC,
    }
    shortcut_summary = {
        "steps": steps.tolist(), "dip_checkpoint": t_dip, "dip_step": int(steps[t_dip]) if t_dip >= 0 else None, "dip": dip,
        "rollouts_to_dip": int(steps[t_dip]) * CONFIG.batch_size * CONFIG.n_rollouts if t_dip >= 0 else None,
        "trajectories": {v: {sp: {"n": trs[v][sp]["n"], "pass1": trs[v][sp]["pass1"].tolist(),
                                  **{f"sc_gain@{K}": trs[v][sp][f"sc@{K}"].tolist() for K in KS}}
                             for sp in ("all", "easy", "hard", "trap_wrong")} for v in names},
        "hard_split_classes": {v: np.bincount(klass_c[g][trs[v]["masks"]["hard"]], minlength=3).tolist() for g, v in enumerate(names)},
        "strategy_shares_on_trap_wrong": {v: shares[v].tolist() for v in names},
        "pass1_peak": {"step": int(steps[int(np.argmax(tr["all"]["pass1"]))]), "value": float(tr["all"]["pass1"].max())},
        "dip_while_rising": dict(zip(("checkpoint", "value"), dip_while_rising(tr))),
        "dip_with_hard_rise": dict(zip(("checkpoint", "value"), dip_with_hard_rise(tr))),
        "min_sc5_hard": float(tr["hard"]["sc@5"].min()),
        "sampled_hard": samp_c, "control_min_sc": ctl_min, "coverage_rotation": cover, "seeds": seeds_c, "pool_mix_sweep": sweep_c,
    }
    timings = {"map_s": t_map, "train_s": t_train, "shortcut_s": t_short, "total_s": time.perf_counter() - t0}
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, seed=seed, setting=setting, search=search, shortcut=shortcut_summary,
                  trajectory={"steps": steps.tolist(), "pass1": st["pass1"].tolist(), **{f"sc_gain@{K}": st["sc"][K].tolist() for K in KS}},
                  diagnosis=diag_summary, map={"max_abs_z": zmax, "mean_abs_diff": {str(k): v for k, v in mad.items()},
                                               "negative_cells": {str(k): v for k, v in n_neg.items()}},
                  figures=figures, timings=timings)

    print(f"sc_negative_gain ({'quick' if quick else 'full'}): map {n_map} problems in {t_map:.1f} s, training {t_train:.1f} s")
    print(f"  map: negative cells K=5 {n_neg[5]}, K=32 {n_neg[32]} / {len(EPSILONS) * len(TEMPS)}; max |z| {zmax:.2f}")
    print(f"  run ({tag}): pass@1 " + " ".join(f"{x:.2f}" for x in st["pass1"][::2]))
    print("  SC gain@32        " + " ".join(f"{x:+.3f}" for x in st["sc"][32][::2]))
    for s in search:
        print(f"  search {s}")
    print(f"  (c) shortcut, {t_short:.1f} s; dip at step {shortcut_summary['dip_step']}: hard SC gain@32 {dip:+.3f}; r* = {r_star:.3f}; "
          f"pass@1 peak {shortcut_summary['pass1_peak']}; dip while rising {shortcut_summary['dip_while_rising']}; "
          f"dip with the hard split's pass@1 up >= {RISEN_AT} {shortcut_summary['dip_with_hard_rise']}; "
          f"min hard SC@5 {shortcut_summary['min_sc5_hard']:+.3f}")
    for v in names:
        print(f"  (c) coverage rotation {v}: "
              + ", ".join(f"{sp} union {c['union']:.3f} vs best {c['best_single']:.3f}" for sp, c in cover[v].items()))
    for v in names:
        print(f"  (c) {v:20s} pass@1 all  " + " ".join(f"{x:.2f}" for x in trs[v]["all"]["pass1"][::2]))
        print(f"  (c) {v:20s} SC@32 hard  " + " ".join(f"{x:+.3f}" for x in trs[v]["hard"]["sc@32"][::2]))
    for n, d in samp_c.items():
        print(f"  (c) sampled n={n}: dip {d['dip']['mean']:+.3f} [{d['dip']['ci95'][0]:+.3f}, {d['dip']['ci95'][1]:+.3f}], "
              f"base {d['base']['mean']:+.3f}")
    for row in seeds_c:
        print(f"  (c) seed {row['seed']}: " + "; ".join(f"{v} dip {row[v]['dip']:+.3f} (rising {row[v]['dip_while_rising']:+.3f}) "
                                                       f"min {row[v]['min_sc_any_split']:+.3f}" for v in row if v != "seed"))
    for row in sweep_c:
        print(f"  (c) pool trap-right share {row['trap_right_share']} (hit_max {row['pool_hit_max']}, r* {row['break_even_r_star']:.3f}): "
              f"dip {row['dip']:+.3f} min hard {row['min_sc_hard']:+.3f}")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings, "chosen": chosen}

