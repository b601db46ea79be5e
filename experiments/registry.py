"""Named experiments and benchmarks: name -> (callable(quick=...), one-line description)."""

from __future__ import annotations


def _lazy(module: str, **options):
    """run(quick) of ``experiments.<module>`` (with fixed keyword ``options``), imported only when called (keeps ``list``
    fast)."""

    def run(quick: bool = False):
        import importlib

        return importlib.import_module(f"experiments.{module}").run(quick=quick, **options)

    return run


EXPERIMENTS = {
    "symbolic": (_lazy("symbolic_report"), "sympy derivations of every closed form (theory/symbolic.py) as claims + LaTeX"),
    "sc_negative_gain": (_lazy("sc_negative_gain"),
                         "map of SC gain over error consistency x temperature; an RL run where SC gain turns negative, diagnosed"),
    "passk_eta": (_lazy("passk_eta"), "eta of Pass@k advantages measured on sim rollouts vs theory; Pass@1 vs Pass@k on a trap bank"),
    "sweep": (_lazy("sweep"), "grid: error consistency x temperature x advantage x seeds, exact metrics per checkpoint, to Parquet"),
    "coverage_rotation": (_lazy("coverage_rotation"), "solved sets rotate across checkpoints; union pass@K vs best single at matched budget"),
    "real_rlvr": (_lazy("real_rlvr"), "a small real RLVR run on CPU: SFT base model, GRPO, checkpoint evaluation, analysis, theory vs measurement"),
    "real_methods": (_lazy("real_methods"),
                     "every RL method of the papers (Pass@k, exploration bonuses, RLPR, PPL, position) and continued SFT from one real base"),
    "real_phenomena": (_lazy("real_phenomena"),
                       "predict, then observe: a simulator calibrated to a real base with a shortcut predicts SC gain; real GRPO runs test it"),
    "real_validation": (_lazy("real_validation"),
                        "real data (../shared/data): maj@K predicted from 3-5 GSM8K samples vs held-out; Pythia pass@k extrapolation; churn"),
}

BENCHMARKS = {
    "theory": (_lazy("bench_theory"), "exact plurality accuracy vs Monte Carlo; other exact kernels at scale"),
    "sim": (_lazy("bench_sim"),
            "a full simulator run in JAX vs the vectorized NumPy reference and a per-rollout loop baseline; vmapped vs sequential seeds"),
    "sampler": (_lazy("bench_sampler"),
                "samplers on one checkpoint: JAX (KV cache, recompute), transformers, vLLM (CPU build); answers, log-probs; vLLM on the lab run"),
    "signals": (_lazy("bench_signals"), "an RL step's time with and without the training signals (entropy, branching, KL, ...), same process"),
    "trainers": (_lazy("bench_trainers"), "a GRPO step: our JAX trainer vs TRL's GRPOTrainer, same model and setting; exact maj@k vs verl bootstrap"),
    "real": (_lazy("bench_real"), "sample-log analysis at scale: 200 checkpoints x 500 problems x 64 samples from Parquet (import + every analysis); "
                                  "--scale: 10^8 records streamed, peak memory"),
    "real-scale": (_lazy("bench_real", scale=True), "= bench real --scale: 10^8 sample records (quick 10^7) streamed into the counts table and "
                                                    "analysed; rows/s and peak memory against the in-memory import"),
}
