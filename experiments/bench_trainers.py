"""Benchmark ``trainers``: one GRPO step of our JAX trainer against TRL's ``GRPOTrainer`` on the same model, and our
exact maj@k against verl's bootstrap maj@N on the same validation dump.

**GRPO step, ours vs TRL** (TRL from the optional extra: ``pip install -e '.[tools]'``). One base model (the quick lab
run's ``results/real_rlvr/base`` when it exists, else a fresh 150-step SFT of the quick setting's model) is exported
with ``real.lab.hf_export.export_hf``; TRL loads that folder, our trainer the same weights (a forward-pass parity
check on the prompts is a claim). Both train on the same B prompts of the task (a pool of exactly B problems, so
each step of either trainer uses all of them), n generations per prompt, the same max new tokens, temperature,
top-p (1, no top-k), AdamW (lr, betas, eps, weight decay, gradient clipping to the same global norm, constant
learning rate, no warm-up), PPO clip epsilon, no KL term (TRL ``beta = 0``: our trainer has none, so neither loads
a reference model), one policy epoch per batch, the token mean of the loss over the whole batch (TRL
``loss_type="dapo"``, one process, no gradient accumulation), float32, no gradient checkpointing, and the same
reward: ``real.lab.task.check_answer`` on ``real.logs.answers.extract_answer`` of the completion (TRL calls it as a
``reward_func``). :func:`setting_table` lists every matched field as read from the two configurations (a mismatch
is a failing claim) and :func:`optimizer_probe` runs both optimizers, as each trainer builds it, on the same
gradients. Differences that remain: the group advantage divides by the population std + 1e-6 (ours) or the
sample std + 1e-4 (TRL), a factor sqrt(n/(n - 1)) that Adam's normalisation nearly removes; our old log-probs are
the sampler's, TRL's (one epoch, no vLLM) the detached current ones (the ratio is 1 in both, up to rounding in ours); TRL also computes
per-token entropies for its logs; the samplers differ (our jitted JAX sampler with a KV cache, transformers'
``generate`` with its cache); our step writes its last checkpoint (small) and TRL its log line.

A step of either trainer: generate B x n completions (with log-probs), score them with the reward, group
advantages, forward + backward of the clipped surrogate, gradient clipping, AdamW. Timing: runs of ``steps`` steps
from the same weights, ours and TRL's alternating in pairs; a run's steady step time is measured from the end of
its first step to the end of its last, divided by the steps in between (the first step holds our XLA compilation,
reported separately as the first run's first step); the ratio TRL/ours of steady step times is the median over
pairs (runs vary from one to the next, more so while other work shares the machine). Tokens/s counts the completion tokens each trainer actually
generated (through <eos>) in the timed steps. Both run in one process on the same cores: torch's intra-op threads
and every thread of the process (XLA's pool included) are pinned to the first 2 cores (``os.sched_setaffinity``).
Claim: TRL's steady step time / ours >= 3 (the issue's target).

**Exact maj@k vs verl's bootstrap.** verl (0.9.1) reports maj@N for N = 2, 4, 8, ..., n by
``process_validation_metrics`` (verl/trainer/ppo/metric_utils.py): per problem, 1000 bootstrap draws of N samples
*with replacement* (``bootstrap_metric``, seed 42 for every problem), each scored by ``calc_maj_val`` (the most
common prediction; ties go to the one that occurs first in the draw, i.e. at random), averaged. Ours,
``theory.voting.maj_at_k`` through ``real.logs.analysis.per_problem_maj_at_k``: the exact mean over all
k-subsets *without* replacement, unbiased for the model's maj@k. verl's functions are run unchanged from verl's own
file: ``metric_utils.py`` imports verl's whole stack (torch, omegaconf, transformers, ``verl.DataProto``), so the
three functions are taken from it by name (:func:`load_verl_functions`: the file's AST, only those three ``def``
statements, executed with NumPy and the standard library). The file comes from ``$VERL_METRIC_UTILS`` (the .py
file, or verl's wheel: ``pip download verl==0.9.1 --no-deps -d DIR``) or an installed verl; without it this part is
skipped with that reason (nothing is downloaded at run time). The dump: P problems whose answer law is
Dirichlet(3, 1, 1, 1) over 4 answers (the first correct: probability 1/2 on average, each wrong answer 1/6), n iid
samples each, written as verl's validation-dump JSONL (``input``, ``output`` ending ``#### a``, ``score``, ``gts``,
``step``) and read by ``real.logs``. Reported
for every k: the mean over problems of the law's exact maj@k (``theory.voting.plurality_accuracy``), ours, verl's,
the with-replacement plug-in value that verl's bootstrap estimates (``plurality_accuracy`` at the empirical
frequencies), verl's bias (mean of bootstrap - exact) with its spread over problems and standard error, and both
timings. Claims: our estimate is unbiased for the law (|mean(ours - law)| <= 3 SE, every k); verl's values are the
plug-in's up to their Monte Carlo noise (|mean(verl - plug-in)| <= 3 x its SE, every k); ours is faster (its second
call, the engine's XLA programs compiled by the first; the first call's time is reported beside it).

Quick (main job): 8 prompts x 8 generations, 48 tokens, 2 pairs of 3-step runs; verl part 100 problems x 16
samples. Full: 64 x 8 (the lab's RL step), 3 pairs of 4-step runs; 500 problems x 32 samples.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import math
import os
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from common.results import RESULTS_DIR, Claim, jsonable, print_claims, write_summary

NAME = "bench-trainers"
TARGET_RATIO = 3.0
CORES = 2
INSTALL_HINT = "pip install -e '.[tools]'"
OPS = (2, 3, 4, 5, 6)
PARITY_TOL = 1e-4  # max |logit difference| between our model and TRL's loaded copy
PROBE_TOL = 1e-3  # max |parameter difference| in the optimizer probe, in learning-rate steps
VERL_FUNCTIONS = ("bootstrap_metric", "calc_maj_val", "process_validation_metrics")
VERL_ALPHA = (3.0, 1.0, 1.0, 1.0)  # the synthetic dump's Dirichlet law over its answers (the first is correct)
VERL_ANSWERS = len(VERL_ALPHA)


@dataclasses.dataclass(frozen=True)
class Shape:
    """Sizes of one benchmark mode: B prompts x n generations per step, runs of ``steps`` steps, ``pairs`` pairs of
    runs; the verl dump's problems and samples per problem."""

    problems: int
    generations: int
    max_tokens: int
    steps: int
    pairs: int
    verl_problems: int
    verl_samples: int


QUICK_SHAPE = Shape(problems=8, generations=8, max_tokens=48, steps=3, pairs=2, verl_problems=100, verl_samples=16)
FULL_SHAPE = Shape(problems=64, generations=8, max_tokens=48, steps=4, pairs=3, verl_problems=500, verl_samples=32)


# ------------------------------------------------------------------------------------------ the two settings
def trl_unavailable() -> str | None:
    """None when ``trl`` imports, else the reason and the command that installs it."""
    if importlib.util.find_spec("trl") is None:
        return f"trl is not installed (it is in the optional [tools] extra: {INSTALL_HINT})"
    try:
        import trl  # noqa: F401
    except Exception as exc:  # a broken install: reported, not faked
        return f"trl does not import ({type(exc).__name__}: {exc}); reinstall it with {INSTALL_HINT}"
    return None


def rl_config(shape: Shape, steps: int):
    """Our trainer's setting: the quick lab setting's RL section (GRPO, AdamW 2e-4, clip 0.2, T = 1, top-p 1) with the
    benchmark's batch shape, ``steps`` steps and one checkpoint at the end."""
    from real.lab.config import QUICK

    return dataclasses.replace(QUICK.rl, steps=steps, batch_problems=shape.problems, n_rollouts=shape.generations,
                               max_tokens=shape.max_tokens, checkpoint_every=steps, advantage="grpo")


def our_adam() -> dict:
    """The Adam constants our optimizer uses: ``real.lab.rl.make_optimizer`` passes only the learning rate and the
    weight decay to ``optax.adamw``, so b1, b2, eps are optax's defaults, read from its signature."""
    import optax

    sig = inspect.signature(optax.adamw).parameters
    return {"b1": sig["b1"].default, "b2": sig["b2"].default, "eps": sig["eps"].default}


def trl_arguments(rl, *, steps: int, output_dir, seed: int = 0) -> dict:
    """``trl.GRPOConfig`` keyword arguments that match our RL setting ``rl`` (module docstring)."""
    adam = our_adam()
    return dict(
        output_dir=str(output_dir), max_steps=steps, seed=seed, use_cpu=True, use_vllm=False,
        per_device_train_batch_size=rl.batch_problems * rl.n_rollouts, num_generations=rl.n_rollouts,
        gradient_accumulation_steps=1, steps_per_generation=1, num_iterations=rl.ppo_epochs,
        max_completion_length=rl.max_tokens, temperature=rl.temperature, top_p=rl.top_p, top_k=0,
        learning_rate=rl.learning_rate, lr_scheduler_type="constant", warmup_steps=0,
        adam_beta1=adam["b1"], adam_beta2=adam["b2"], adam_epsilon=adam["eps"], weight_decay=rl.weight_decay,
        max_grad_norm=rl.max_grad_norm, epsilon=rl.clip_eps, beta=0.0, loss_type="dapo", scale_rewards="group",
        importance_sampling_level="token", mask_truncated_completions=False,
        bf16=False, fp16=False, gradient_checkpointing=False,
        logging_steps=1, report_to="none", save_strategy="no", disable_tqdm=True, dataloader_num_workers=0)


def loss_normalisation(loss_type: str, grad_accum: int = 1, processes: int = 1) -> str:
    """How TRL's ``loss_type`` averages token losses, in our words (TRL's GRPOConfig docstring): ``dapo`` and ``bnpo``
    divide by the completion tokens of the (accumulated / local) batch, the same as ours with one process and no
    accumulation; ``grpo`` averages per sequence first; ``dr_grpo`` divides by a constant."""
    if loss_type in ("dapo", "bnpo") and grad_accum == 1 and processes == 1:
        return "token mean over the batch"
    return {"grpo": "mean over sequences of token means", "dr_grpo": "sum / (sequences x max_completion_length)"}.get(
        loss_type, f"TRL loss_type {loss_type!r}")


def setting_table(rl, args) -> list[dict]:
    """Every matched field as each side holds it: ``[{"field", "ours", "trl", "equal"}]`` from our ``RLConfig``
    ``rl`` and TRL's ``GRPOConfig`` ``args`` (read from the objects, not from :func:`trl_arguments`)."""
    adam = our_adam()
    g = args.per_device_train_batch_size * args.gradient_accumulation_steps
    warm = (args.warmup_steps or 0) + (getattr(args, "warmup_ratio", 0) or 0)
    rows = [
        ("prompts per step", rl.batch_problems, g // args.num_generations if g % args.num_generations == 0 else g / args.num_generations),
        ("generations per prompt", rl.n_rollouts, args.num_generations),
        ("max new tokens", rl.max_tokens, args.max_completion_length),
        ("temperature", rl.temperature, args.temperature),
        ("top_p", rl.top_p, args.top_p),
        ("top_k (0 = off)", 0, args.top_k or 0),
        ("learning rate", rl.learning_rate, args.learning_rate),
        ("learning-rate schedule", "constant", str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type))),
        ("warm-up", 0, warm),
        ("Adam beta1", adam["b1"], args.adam_beta1),
        ("Adam beta2", adam["b2"], args.adam_beta2),
        ("Adam eps", adam["eps"], args.adam_epsilon),
        ("weight decay", rl.weight_decay, args.weight_decay),
        ("gradient clipping (global norm)", rl.max_grad_norm, args.max_grad_norm),
        ("clip epsilon (low)", rl.clip_eps, args.epsilon),
        ("clip epsilon (high)", rl.clip_eps, args.epsilon if args.epsilon_high is None else args.epsilon_high),
        ("KL beta", 0.0, args.beta),
        ("policy epochs per batch", rl.ppo_epochs, args.num_iterations),
        ("loss normalisation", "token mean over the batch", loss_normalisation(args.loss_type, args.gradient_accumulation_steps)),
        ("advantage", "group mean / std" if rl.advantage == "grpo" else rl.advantage,
         {"group": "group mean / std", True: "group mean / std"}.get(args.scale_rewards, f"scale_rewards={args.scale_rewards!r}")),
        ("importance ratio", "token", args.importance_sampling_level),
        ("truncated completions in the loss", True, not args.mask_truncated_completions),
        ("entropy-quantile token filter (1 = off)", 1.0, args.top_entropy_quantile),
        ("precision", "float32", "bfloat16" if args.bf16 else "float16" if args.fp16 else "float32"),
        ("gradient checkpointing", False, bool(args.gradient_checkpointing)),
        ("sampling in the training process (no vLLM server)", True, not args.use_vllm),
    ]
    return [{"field": f, "ours": o, "trl": t, "equal": _same(o, t)} for f, o, t in rows]


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)


def optimizer_probe(rl, args, *, steps: int = 12, size: int = 64, seed: int = 0) -> dict:
    """Both optimizers, as each trainer builds it, on the same start vector and the same gradients (some above the
    clipping norm): ours ``real.lab.rl.make_optimizer(rl)`` (optax: clip by global norm, then AdamW), TRL's the class
    and keyword arguments transformers' ``Trainer.get_optimizer_cls_and_kwargs(args)`` gives, with ``args.weight_decay``
    as ``Trainer.create_optimizer`` sets it on the weight matrices' group, after
    ``torch.nn.utils.clip_grad_norm_`` at ``args.max_grad_norm`` (what the Trainer does). The start vector is small
    (|x| ~ 1e-3, so float32 rounding stays far below a step) and the gradient scale moves over 3 decades (so beta2 and
    the clipping matter). Returns the max |difference| of the parameters over the steps in units of our learning rate
    (one Adam step moves a parameter by about one lr) and the optimizer's class and arguments."""
    import jax.numpy as jnp
    import optax
    import torch
    from transformers import Trainer

    from real.lab.rl import make_optimizer

    rng = np.random.default_rng(seed)
    x0 = (1e-3 * rng.normal(size=size)).astype(np.float32)
    grads = [(rng.normal(size=size) * scale).astype(np.float32) for scale in rng.permutation(np.geomspace(0.01, 10.0, steps))]
    opt = make_optimizer(rl)
    p = {"w": jnp.asarray(x0)}
    state = opt.init(p)
    ours = []
    for g in grads:
        upd, state = opt.update({"w": jnp.asarray(g)}, state, p)
        p = optax.apply_updates(p, upd)
        ours.append(np.asarray(p["w"], np.float64))
    cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    w = torch.nn.Parameter(torch.tensor(x0))
    topt = cls([{"params": [w], "weight_decay": args.weight_decay}], **kwargs)  # Trainer.create_optimizer's decayed group
    diff = 0.0
    for g, o in zip(grads, ours):
        w.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([w], args.max_grad_norm)
        topt.step()
        diff = max(diff, float(np.max(np.abs(w.detach().numpy().astype(np.float64) - o))))
    return {"max_abs_diff": diff / rl.learning_rate, "trl_optimizer": f"{cls.__module__}.{cls.__name__}",
            "trl_optimizer_kwargs": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}}


# ------------------------------------------------------------------------------------------ running the trainers
@contextmanager
def pinned_cores(n: int = CORES):
    """Pin every thread of this process (and the threads they start) to the first ``n`` allowed cores, and torch's
    intra-op pool to ``n`` threads; restore both afterwards. Yields the cores (None where affinity is unsupported)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(n)
    if not hasattr(os, "sched_setaffinity") or not os.path.isdir("/proc/self/task"):
        try:
            yield None
        finally:
            torch.set_num_threads(threads)
        return
    before = os.sched_getaffinity(0)
    cores = sorted(before)[:n]

    def set_all(mask):
        for tid in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(tid), mask)
            except OSError:  # a thread that ended meanwhile
                pass

    set_all(cores)
    try:
        yield cores
    finally:
        set_all(before)
        torch.set_num_threads(threads)


def _base_model(seed: int):
    """(params, config, source): the quick lab run's base model, else a fresh 150-step SFT of the quick model."""
    import jax

    from real.lab.checkpoints import load_checkpoint
    from real.lab.config import QUICK, SFTConfig
    from real.lab.model import init_params
    from real.lab.sft import train_sft
    from real.lab.task import make_problems

    base = Path(RESULTS_DIR) / "real_rlvr" / "base"
    if (base / "config.json").is_file():
        params, config = load_checkpoint(base)[:2]
        return params, config, str(base)
    config = QUICK.model
    sft = SFTConfig(steps=150, batch_size=64, target_pass_at_1=None)
    params, _, _ = train_sft(init_params(config, jax.random.key(seed)), config, make_problems(5000, [1, 2, 3], seed=seed), sft)
    return params, config, f"fresh SFT of the quick model, {sft.steps} steps (results/real_rlvr/base absent)"


def _max_param_change(a: dict, b: dict) -> float:
    import jax

    return float(max(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)))
                     for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))))


def run_ours(params, config, pool, rl, folder: Path, *, seed: int) -> dict:
    """One run of ``real.lab.rl.train_rl`` (``rl.steps`` steps on ``pool``): end time of every step, completion tokens
    and sampling seconds per step (the sampler wrapped to count them), losses, the largest weight change."""
    import real.lab.rl as rl_mod
    from real.lab.tokenizer import CharTokenizer

    ends, tokens, gen_seconds = [], [], []
    original = rl_mod.JaxSampler

    class CountingSampler(original):
        def generate(self, request):
            t = time.perf_counter()
            out = super().generate(request)
            gen_seconds.append(time.perf_counter() - t)
            tokens.append(sum(len(c.token_ids) for row in out for c in row))
            return out

    def log(msg):
        if msg.startswith("rl step "):
            ends.append(time.perf_counter())

    rl_mod.JaxSampler = CountingSampler
    try:
        t0 = time.perf_counter()
        new, logs = rl_mod.train_rl(params, config, pool, rl, folder, seed=seed, tokenizer=CharTokenizer(), log=log)
    finally:
        rl_mod.JaxSampler = original
    return {"start": t0, "ends": ends, "tokens": tokens, "generation_seconds": gen_seconds,
            "losses": [s["loss"] for s in logs], "rewards": [s["reward"] for s in logs],
            "max_weight_change": _max_param_change(new, params)}


def _quiet_transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass


def make_trl_trainer(hf_dir: Path, pool, rl, folder: Path, *, seed: int, steps: int, counters: dict | None = None):
    """TRL's GRPOTrainer on the exported folder, with :func:`trl_arguments` and our verifier as its reward function;
    ``counters`` (``tokens``, ``ends``, ``generation_seconds`` lists) are filled per step when given."""
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from real.lab.task import check_answer
    from real.logs.answers import extract_answer

    by_prompt = {p.prompt: p for p in pool}
    counters = counters if counters is not None else {"tokens": [], "ends": [], "generation_seconds": []}

    def verifier_reward(prompts, completions, completion_ids, **kwargs):
        """Our reward: 1 when the completion's final answer (real.logs.answers) is the problem's answer."""
        counters["tokens"].append(sum(len(c) for c in completion_ids))
        return [float(check_answer(by_prompt[p], extract_answer(c))) for p, c in zip(prompts, completions)]

    class StepEnds(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            counters["start"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            counters["ends"].append(time.perf_counter())

    args = GRPOConfig(**trl_arguments(rl, steps=steps, output_dir=folder, seed=seed))
    trainer = GRPOTrainer(model=str(hf_dir), reward_funcs=verifier_reward, args=args,
                          train_dataset=Dataset.from_dict({"prompt": [p.prompt for p in pool]}), callbacks=[StepEnds()])
    trainer.remove_callback(PrinterCallback)  # its per-step print of the logs (disable_tqdm) is not part of the step
    model = trainer.model
    generate = model.generate

    def timed_generate(*a, **k):
        t = time.perf_counter()
        out = generate(*a, **k)
        counters["generation_seconds"].append(time.perf_counter() - t)
        return out

    model.generate = timed_generate
    return trainer, counters


def run_trl(hf_dir: Path, pool, rl, folder: Path, *, seed: int) -> dict:
    """One TRL run of ``rl.steps`` steps: as :func:`run_ours` (losses from TRL's log history; weight change against
    the exported tensors)."""
    import torch
    from safetensors.numpy import load_file

    trainer, c = make_trl_trainer(hf_dir, pool, rl, folder, seed=seed, steps=rl.steps)
    trainer.train()
    start = load_file(str(hf_dir / "model.safetensors"))
    change = 0.0
    with torch.no_grad():
        for name, p in trainer.model.named_parameters():
            change = max(change, float(np.max(np.abs(p.detach().double().numpy() - start[name].astype(np.float64)))))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    lrs = [h["learning_rate"] for h in trainer.state.log_history if "learning_rate" in h]
    dtype = str(next(trainer.model.parameters()).dtype)
    opt = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps it
    groups = [{"lr": g["initial_lr"] if "initial_lr" in g else g["lr"], "betas": list(g["betas"]), "eps": g["eps"],
               "weight_decay": g["weight_decay"], "params": len(g["params"])} for g in opt.param_groups]
    return {"start": c["start"], "ends": c["ends"], "tokens": c["tokens"], "generation_seconds": c["generation_seconds"],
            "losses": losses, "rewards": rewards, "learning_rates": lrs, "max_weight_change": change, "dtype": dtype,
            "optimizer": f"{type(opt).__module__}.{type(opt).__name__}", "optimizer_groups": groups}


def built_trl_rows(rl, trl_runs) -> list[dict]:
    """Rows of :func:`setting_table` for what TRL's Trainer actually built and used in its runs: the hyperparameters of
    every parameter group of its optimizer and the learning rate it logged at every step (constant at ours)."""
    adam = our_adam()
    ours = (rl.learning_rate, adam["b1"], adam["b2"], adam["eps"], rl.weight_decay)
    seen = sorted({(g["lr"], *g["betas"], g["eps"], g["weight_decay"]) for r in trl_runs for g in r["optimizer_groups"]})
    lrs = sorted({lr for r in trl_runs for lr in r["learning_rates"]})
    return [{"field": "AdamW as built, every parameter group (lr, beta1, beta2, eps, weight decay)", "ours": list(ours),
             "trl": [list(x) for x in seen], "equal": len(seen) == 1 and all(_same(a, b) for a, b in zip(ours, seen[0]))},
            {"field": "learning rate logged at every step", "ours": [rl.learning_rate], "trl": lrs,
             "equal": len(lrs) == 1 and _same(lrs[0], rl.learning_rate)}]


def steady(run: dict) -> dict:
    """Steady-state numbers of one run: seconds per step from the end of step 1 to the end of the last step, steps/s,
    generated tokens/s over the same steps, sampling seconds per step, and the first step's seconds."""
    ends, tokens, gen = run["ends"], run["tokens"], run["generation_seconds"]
    k = len(ends) - 1
    sec = (ends[-1] - ends[0]) / k
    return {"seconds_per_step": sec, "steps_per_s": 1 / sec, "tokens_per_s": sum(tokens[1:]) / (ends[-1] - ends[0]),
            "tokens_per_step": float(np.mean(tokens[1:])), "generation_seconds_per_step": float(np.mean(gen[1:])),
            "first_step_seconds": ends[0] - run["start"]}


def logit_parity(params, config, hf_dir: Path, prompts) -> float:
    """Max |logit difference| between our model and transformers' load of the export on the prompts (with <bos>)."""
    import jax.numpy as jnp
    import torch
    from transformers import AutoModelForCausalLM

    from real.lab.model import sequence_logits
    from real.lab.tokenizer import CharTokenizer

    tk = CharTokenizer()
    model = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32).eval()
    worst = 0.0
    for p in prompts:
        ids = tk.encode(p, bos=True)
        ours = np.asarray(sequence_logits(params, config, jnp.asarray([ids])))[0]
        with torch.no_grad():
            theirs = model(torch.tensor([ids])).logits[0].numpy()
        worst = max(worst, float(np.max(np.abs(ours - theirs))))
    return worst


def bench_grpo(shape: Shape, seed: int, tmp: Path, log=print) -> dict:
    """The side-by-side GRPO benchmark (module docstring); returns every run, the paired ratios and the checks."""
    from trl import GRPOConfig

    from real.lab.hf_export import export_hf
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    _quiet_transformers()
    t0 = time.perf_counter()
    params, config, source = _base_model(seed)
    base_seconds = time.perf_counter() - t0
    hf_dir = export_hf(tmp / "hf_base", params, config, CharTokenizer())
    pool = make_problems(shape.problems, list(OPS), seed=seed + 17, prefix="bt")
    rl = rl_config(shape, shape.steps)
    args = GRPOConfig(**trl_arguments(rl, steps=shape.steps, output_dir=tmp / "trl_args", seed=seed))
    table = setting_table(rl, args)
    probe = optimizer_probe(rl, args, seed=seed)
    parity = logit_parity(params, config, hf_dir, [p.prompt for p in pool])
    ours, theirs = [], []
    with pinned_cores(CORES) as cores:
        import torch

        threads = torch.get_num_threads()
        for i in range(shape.pairs):
            ours.append(run_ours(params, config, pool, rl, tmp / f"ours_{i}", seed=seed))
            theirs.append(run_trl(hf_dir, pool, rl, tmp / f"trl_{i}", seed=seed))
            a, b = steady(ours[-1]), steady(theirs[-1])
            log(f"  pair {i + 1}/{shape.pairs}: ours {a['seconds_per_step']:.2f} s/step, TRL {b['seconds_per_step']:.2f} s/step "
                f"(ratio {b['seconds_per_step'] / a['seconds_per_step']:.1f}); first steps {a['first_step_seconds']:.1f} / "
                f"{b['first_step_seconds']:.1f} s")
    table += built_trl_rows(rl, theirs)
    s_ours, s_trl = [steady(r) for r in ours], [steady(r) for r in theirs]
    ratios = [b["seconds_per_step"] / a["seconds_per_step"] for a, b in zip(s_ours, s_trl)]
    token_ratios = [a["tokens_per_s"] / b["tokens_per_s"] for a, b in zip(s_ours, s_trl)]

    def med(rows, key):
        return float(np.median([r[key] for r in rows]))

    summary = {side: {k: med(rows, k) for k in ("seconds_per_step", "steps_per_s", "tokens_per_s", "tokens_per_step",
                                                 "generation_seconds_per_step")}
               for side, rows in (("ours", s_ours), ("trl", s_trl))}
    summary["ours"]["first_step_seconds_first_run"] = s_ours[0]["first_step_seconds"]
    summary["trl"]["first_step_seconds_first_run"] = s_trl[0]["first_step_seconds"]
    for side, rows in (("ours", s_ours), ("trl", s_trl)):  # the first run's excess over the later ones: our XLA compilation
        summary[side]["first_step_seconds_later_runs"] = float(np.median([r["first_step_seconds"] for r in rows[1:]])) if len(rows) > 1 else None
    return {"checkpoint": source, "base_seconds": base_seconds, "shape": dataclasses.asdict(shape), "setting": table,
            "optimizer_probe": probe, "logit_parity_max_abs": parity, "cores": cores, "torch_threads": threads,
            "trl_dtype": theirs[0]["dtype"], "runs": {"ours": ours, "trl": theirs}, "steady": {"ours": s_ours, "trl": s_trl},
            "median": summary, "ratio_seconds_per_step": ratios, "ratio_tokens_per_s": token_ratios,
            "ratio_median": float(np.median(ratios)), "ratio_range": [float(min(ratios)), float(max(ratios))],
            "token_ratio_median": float(np.median(token_ratios)),
            "losses_finite": all(np.isfinite(r["losses"]).all() and len(r["losses"]) == shape.steps for r in ours + theirs),
            "min_weight_change": min(r["max_weight_change"] for r in ours + theirs)}


# ------------------------------------------------------------------------------------------ verl's bootstrap maj@N
def verl_metric_utils() -> tuple[str | None, str]:
    """(source text of verl's ``verl/trainer/ppo/metric_utils.py``, where it came from) or (None, why not):
    ``$VERL_METRIC_UTILS`` (that file, or a verl wheel holding it), else an installed verl (found without importing
    it)."""
    member = "verl/trainer/ppo/metric_utils.py"
    env = os.environ.get("VERL_METRIC_UTILS")
    if env:
        path = Path(env)
        if not path.is_file():
            return None, f"VERL_METRIC_UTILS={env}: no such file"
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as z:
                if member not in z.namelist():
                    return None, f"VERL_METRIC_UTILS={env}: the wheel holds no {member}"
                return z.read(member).decode("utf-8"), f"{path.name}:{member}"
        return path.read_text(encoding="utf-8"), str(path)
    spec = importlib.util.find_spec("verl")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "trainer" / "ppo" / "metric_utils.py"
        if path.is_file():
            return path.read_text(encoding="utf-8"), str(path)
    return None, ("verl is not installed and VERL_METRIC_UTILS is not set: set it to verl's wheel "
                  "(pip download verl==0.9.1 --no-deps -d DIR; VERL_METRIC_UTILS=DIR/verl-0.9.1-py3-none-any.whl)")


def load_verl_functions(source: str, names=VERL_FUNCTIONS) -> dict:
    """verl's own functions ``names`` from the source of its ``metric_utils.py``, unchanged: the ``def`` statements
    of those names are taken from the file's AST and executed alone, with the names they use (NumPy, ``defaultdict``,
    ``partial``, ``Any``, ``Callable``); the module's own imports (torch, omegaconf, transformers, verl) are not run.
    A ValueError names any function the file lacks or one that is decorated (its decorator would be lost)."""
    from collections import defaultdict
    from collections.abc import Callable
    from functools import partial
    from typing import Any

    tree = ast.parse(source)
    found = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names}
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(f"verl metric_utils: no top-level function {', '.join(missing)}")
    decorated = [n for n, node in found.items() if node.decorator_list]
    if decorated:
        raise ValueError(f"verl metric_utils: {', '.join(decorated)} carry decorators; refusing to run them without")
    module = ast.Module(body=[found[n] for n in names], type_ignores=[])
    namespace = {"np": np, "defaultdict": defaultdict, "partial": partial, "Any": Any, "Callable": Callable,
                 "__name__": "verl_metric_utils_functions"}
    exec(compile(module, "<verl/trainer/ppo/metric_utils.py>", "exec"), namespace)  # noqa: S102 - verl's code, by name
    return {n: namespace[n] for n in names}


def verl_ns(n: int) -> list[int]:
    """The N at which verl reports maj@N for n samples (``gen_ns`` in process_validation_metrics): 2, 4, 8, ... < n, n."""
    ns, k = [], 2
    while k < n:
        ns.append(k)
        k *= 2
    return ns + [n] if n > 1 else []


def synthetic_dump(path: Path, problems: int, samples: int, *, seed: int) -> dict:
    """A verl validation dump (JSONL: input, output, score, gts, step) of ``problems`` problems whose answer law is
    Dirichlet(:data:`VERL_ALPHA`) over its answers, the first correct (mean probability 1/2, each wrong one 1/6);
    laws [P, A], gold answers, and per problem the drawn answers (strings) and scores."""
    from common.atomic import atomic_write_text

    rng = np.random.default_rng(seed)
    laws = rng.dirichlet(VERL_ALPHA, size=problems)
    lines, preds, scores, inputs = [], [], [], []
    for i, q in enumerate(laws):
        answers = [str((i + j) % 10) for j in range(VERL_ANSWERS)]  # answer 0 is gold
        draws = rng.choice(VERL_ANSWERS, size=samples, p=q)
        prompt = f"Q{i}:"
        inputs.append(prompt)
        preds.append([answers[d] for d in draws])
        scores.append([1.0 if d == 0 else 0.0 for d in draws])
        for d in draws:
            lines.append(json.dumps({"input": prompt, "output": f"work #### {answers[d]}", "score": 1.0 if d == 0 else 0.0,
                                     "gts": answers[0], "step": 0}))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return {"laws": laws, "inputs": inputs, "preds": preds, "scores": scores}


def bench_verl(shape: Shape, seed: int, tmp: Path, verl: dict) -> dict:
    """Exact maj@k (ours) vs verl's bootstrap on one synthetic dump (module docstring)."""
    from functools import partial

    from real.logs.analysis import per_problem_maj_at_k
    from real.logs.importers import load_counts
    from theory.voting import plurality_accuracy

    P, n = shape.verl_problems, shape.verl_samples
    ks = verl_ns(n)
    dump = synthetic_dump(tmp / "verl_dump" / "0.jsonl", P, n, seed=seed + 29)
    t0 = time.perf_counter()
    table, report = load_counts(tmp / "verl_dump" / "0.jsonl", format="verl")
    import_seconds = time.perf_counter() - t0
    col = {pid: j for j, pid in enumerate(table.problem_ids)}
    order = [col[hashlib.sha1(x.encode("utf-8")).hexdigest()[:12]] for x in dump["inputs"]]
    seconds = []
    for _ in range(2):  # the first call compiles the exact engine's XLA programs; the second is warm
        t0 = time.perf_counter()
        exact = np.stack([per_problem_maj_at_k(table, k)[0, order] for k in ks], axis=1)  # [P, len(ks)]
        seconds.append(time.perf_counter() - t0)
    ours_cold, ours_seconds = seconds

    flat_src, flat_uid, acc, pred = [], [], [], []
    for x, ps, ss in zip(dump["inputs"], dump["preds"], dump["scores"]):
        flat_src += ["synthetic"] * len(ps)
        flat_uid += [x] * len(ps)
        acc += ss
        pred += ps
    t0 = time.perf_counter()
    verl_out = verl["process_validation_metrics"](flat_src, flat_uid, {"acc": acc, "pred": pred}, seed=42)
    verl_seconds = time.perf_counter() - t0
    verl_reported = {k: float(verl_out["synthetic"]["acc"][f"maj@{k}/mean"]) for k in ks}
    # per problem, verl's maj@k alone (the same call process_validation_metrics makes, so the same values)
    boot = np.zeros((P, len(ks)))
    boot_sd = np.zeros((P, len(ks)))
    t0 = time.perf_counter()
    for i, (ps, ss) in enumerate(zip(dump["preds"], dump["scores"])):
        data = [{"val": v, "pred": p} for v, p in zip(ss, ps)]
        for j, k in enumerate(ks):
            [(boot[i, j], boot_sd[i, j])] = verl["bootstrap_metric"](
                data=data, subset_size=k, reduce_fns=[partial(verl["calc_maj_val"], vote_key="pred", val_key="val")],
                n_bootstrap=1000, seed=42)
    verl_maj_seconds = time.perf_counter() - t0

    counts = _answer_counts(dump)
    law = np.stack([plurality_accuracy(dump["laws"], k) for k in ks], axis=1)
    plugin = np.stack([plurality_accuracy(counts / n, k) for k in ks], axis=1)
    per_k = []
    for j, k in enumerate(ks):
        bias = boot[:, j] - exact[:, j]
        mc = boot[:, j] - plugin[:, j]
        err = exact[:, j] - law[:, j]
        per_k.append({"k": k, "law": float(law[:, j].mean()), "exact": float(exact[:, j].mean()),
                      "verl": float(boot[:, j].mean()), "verl_reported": verl_reported[k], "plugin": float(plugin[:, j].mean()),
                      "verl_bias": float(bias.mean()), "verl_bias_sd": float(bias.std(ddof=1)),
                      "verl_bias_se": float(bias.std(ddof=1) / np.sqrt(P)),
                      "verl_bias_abs_mean": float(np.abs(bias).mean()), "verl_bias_range": [float(bias.min()), float(bias.max())],
                      "verl_vs_law": float((boot[:, j] - law[:, j]).mean()),
                      "verl_minus_plugin": float(mc.mean()), "verl_minus_plugin_se": float(mc.std(ddof=1) / np.sqrt(P)),
                      "exact_minus_law": float(err.mean()), "exact_minus_law_se": float(err.std(ddof=1) / np.sqrt(P)),
                      "verl_bootstrap_sd_mean": float(boot_sd[:, j].mean())})
    return {"problems": P, "samples": n, "ks": ks, "law": f"Dirichlet({', '.join(f'{a:g}' for a in VERL_ALPHA)}) over {VERL_ANSWERS} "
            "answers, the first correct",
            "rows_read": report.rows_read, "rows_rejected": report.n_rejected, "import_seconds": import_seconds,
            "ours_seconds": ours_seconds, "ours_first_call_seconds": ours_cold, "verl_process_validation_metrics_seconds": verl_seconds,
            "verl_maj_only_seconds": verl_maj_seconds, "per_k": per_k,
            "verl_reported_equals_per_problem_mean": max(abs(r["verl_reported"] - r["verl"]) for r in per_k)}


def _answer_counts(dump: dict) -> np.ndarray:
    """[P, A] answer counts of the dump, the gold answer (law index 0) first, in the laws' answer order."""
    out = np.zeros((len(dump["preds"]), VERL_ANSWERS))
    for i, ps in enumerate(dump["preds"]):
        answers = [str((i + j) % 10) for j in range(VERL_ANSWERS)]
        for p in ps:
            out[i, answers.index(p)] += 1
    return out


# ------------------------------------------------------------------------------------------ the benchmark
def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    shape = QUICK_SHAPE if quick else FULL_SHAPE
    mode = "quick" if quick else "full"
    claims, extra = [], {"shape": dataclasses.asdict(shape), "load_average_start": _load()}
    missing = trl_unavailable()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if missing:
            extra["grpo"] = {"skipped": missing}
            claims.append(Claim(f"GRPO step, TRL / ours >= {TARGET_RATIO:g}x: could not run: {missing}", False, None, TARGET_RATIO))
            print(f"bench trainers: the TRL comparison cannot run: {missing}")
        else:
            g = bench_grpo(shape, seed, tmp)
            extra["grpo"] = g
            claims += _grpo_claims(g, shape)
        source, origin = verl_metric_utils()
        if source is None:
            extra["verl"] = {"skipped": origin}
        else:
            try:
                verl = load_verl_functions(source)
            except (SyntaxError, ValueError) as exc:
                extra["verl"] = {"skipped": f"{origin}: {exc}"}
            else:
                v = bench_verl(shape, seed, tmp, verl)
                v["source"] = origin
                v["source_sha256"] = hashlib.sha256(source.encode("utf-8")).hexdigest()
                extra["verl"] = v
                claims += _verl_claims(v)
    extra["load_average_end"] = _load()
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, **jsonable(extra))
    _print(extra, mode)
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], **{k: extra[k] for k in ("grpo", "verl") if k in extra}}


def _grpo_claims(g: dict, shape: Shape) -> list[Claim]:
    bad = [r["field"] for r in g["setting"] if not r["equal"]]
    m = g["median"]
    what = (f"{shape.problems} prompts x {shape.generations} generations, <= {shape.max_tokens} new tokens, median of "
            f"{shape.pairs} paired runs of {shape.steps} steps, steady steps, same process, {len(g['cores'] or [])} cores")
    return [
        Claim(f"GRPO step, TRL GRPOTrainer / our JAX trainer seconds per step >= {TARGET_RATIO:g}x ({what}; ours "
              f"{m['ours']['seconds_per_step']:.2f} s/step, {m['ours']['tokens_per_s']:.0f} tokens/s; TRL "
              f"{m['trl']['seconds_per_step']:.2f} s/step, {m['trl']['tokens_per_s']:.0f} tokens/s; pairs "
              f"{g['ratio_range'][0]:.1f}-{g['ratio_range'][1]:.1f}x)", g["ratio_median"] >= TARGET_RATIO, g["ratio_median"],
              TARGET_RATIO),
        Claim(f"both trainers are configured alike: every matched field equal ({len(g['setting'])} fields"
              f"{'; differ: ' + ', '.join(bad) if bad else ''})", not bad, float(len(bad)), 0.0),
        Claim(f"the same optimizer: ours (optax) and TRL's ({g['optimizer_probe']['trl_optimizer']}) give the same parameters on "
              f"the same gradients (max |diff| < {PROBE_TOL:g} learning-rate steps)", g["optimizer_probe"]["max_abs_diff"] < PROBE_TOL,
              g["optimizer_probe"]["max_abs_diff"], PROBE_TOL),
        Claim(f"the same weights: TRL's load of the export gives our logits (max |diff| < {PARITY_TOL:g})",
              g["logit_parity_max_abs"] < PARITY_TOL, g["logit_parity_max_abs"], PARITY_TOL),
        Claim("every timed run of both trainers has a finite loss at every step and changes the weights",
              g["losses_finite"] and g["min_weight_change"] > 0, g["min_weight_change"], 0.0),
    ]


def _verl_claims(v: dict) -> list[Claim]:
    worst_exact = max(abs(r["exact_minus_law"]) / max(r["exact_minus_law_se"], 1e-12) for r in v["per_k"])
    worst_plugin = max(abs(r["verl_minus_plugin"]) / max(r["verl_minus_plugin_se"], 1e-12) for r in v["per_k"])
    speed = v["verl_process_validation_metrics_seconds"] / v["ours_seconds"]
    last = v["per_k"][-1]
    return [
        Claim(f"our exact maj@k is unbiased for the dump's law: |mean(exact - law)| <= 3 SE at every k in {v['ks']} "
              f"({v['problems']} problems x {v['samples']} samples)", worst_exact <= 3, worst_exact, 3.0),
        Claim(f"verl's bootstrap maj@N estimates the with-replacement plug-in value: |mean(verl - plug-in)| <= 3 SE at every k "
              f"(its bias against the exact value at k = {last['k']}: {last['verl_bias']:+.4f} +- {last['verl_bias_se']:.4f})",
              worst_plugin <= 3, worst_plugin, 3.0),
        Claim(f"our exact maj@k at k in {v['ks']} is faster than verl's process_validation_metrics on the same dump "
              f"({v['ours_seconds']:.3f} s warm, {v['ours_first_call_seconds']:.2f} s with XLA compilation, vs "
              f"{v['verl_process_validation_metrics_seconds']:.2f} s; verl's maj@N alone {v['verl_maj_only_seconds']:.2f} s)",
              speed > 1, speed, 1.0),
    ]


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _print(extra: dict, mode: str) -> None:
    g = extra.get("grpo", {})
    print(f"bench trainers ({mode}; load average {extra['load_average_start']} -> {extra['load_average_end']})")
    if "skipped" in g:
        print(f"  GRPO, ours vs TRL: skipped: {g['skipped']}")
    elif g:
        m = g["median"]
        print(f"  checkpoint: {g['checkpoint']}; cores {g['cores']}, torch threads {g['torch_threads']}")
        for side in ("ours", "trl"):
            s = m[side]
            print(f"  {side:4s}: {s['seconds_per_step']:.2f} s/step ({s['steps_per_s']:.3f} steps/s), {s['tokens_per_s']:.0f} "
                  f"tokens/s ({s['tokens_per_step']:.0f} tokens/step; generation {s['generation_seconds_per_step']:.2f} s/step); "
                  f"first step of the first run {s['first_step_seconds_first_run']:.1f} s")
        print(f"  ratio TRL/ours (s/step): median {g['ratio_median']:.1f}x, pairs {', '.join(f'{r:.1f}' for r in g['ratio_seconds_per_step'])}")
    v = extra.get("verl", {})
    if "skipped" in v:
        print(f"  verl maj@N: skipped: {v['skipped']}")
    elif v:
        print(f"  maj@k on {v['problems']} problems x {v['samples']} samples ({v['law']}): ours {v['ours_seconds']:.3f} s "
              f"(first call, with compilation, {v['ours_first_call_seconds']:.2f} s), "
              f"verl process_validation_metrics {v['verl_process_validation_metrics_seconds']:.2f} s (maj@N alone "
              f"{v['verl_maj_only_seconds']:.2f} s); import {v['import_seconds']:.2f} s")
        for r in v["per_k"]:
            print(f"    k={r['k']:3d}: law {r['law']:.4f}, exact {r['exact']:.4f}, verl {r['verl']:.4f} (plug-in {r['plugin']:.4f}); "
                  f"verl bias {r['verl_bias']:+.4f} (sd over problems {r['verl_bias_sd']:.4f}, SE {r['verl_bias_se']:.4f})")
