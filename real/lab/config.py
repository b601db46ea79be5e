"""The real RLVR run's one setting: a nested, validated configuration with no hidden constants.

``RunConfig`` has five sections and a master seed:

- ``model`` (``real.lab.model.LlamaConfig``): the architecture; ``vocab_size`` must equal the character
  tokenizer's vocabulary;
- ``task`` (:class:`TaskConfig`): which arithmetic problems make the SFT set, the RL pool, the validation
  and the test set (sizes, numbers of operations, seed offsets);
- ``sft`` (:class:`SFTConfig`): stage 1, supervised training with early stopping at a validation pass@1;
- ``rl`` (:class:`RLConfig`): stage 2, the RL trainer (advantage by name from
  ``theory.advantage_registry``, its parameters, PPO clipping, optimizer, rollouts);
- ``evaluation`` (:class:`EvalConfig`): how every RL checkpoint is sampled on the test set.

Every seed the run uses is ``seed`` plus a named offset in a section. ``RunConfig.to_dict()`` is the
full serialization written to ``setting.json``; :func:`setting_differences` compares two of them field by
field (dotted names such as ``rl.learning_rate``), which is how a resumed run refuses a folder that holds
a run of another setting. Every check raises ``ValueError`` naming the field, e.g.
``rl.learning_rate: must be > 0, got -1``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from common.checks import check_int, check_number
from real.lab.model import LlamaConfig

__all__ = ["TOKEN_METHODS", "TaskConfig", "SFTConfig", "RLConfig", "EvalConfig", "RunConfig", "QUICK", "FULL", "setting_differences",
           "flatten_setting"]


def _ops(name: str, value) -> None:
    if not isinstance(value, tuple) or not value or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise ValueError(f"{name}: must be a non-empty tuple of integers >= 1 (numbers of operations), got {value!r}")


@dataclass(frozen=True)
class TaskConfig:
    """Problem sets of chained mod-10 arithmetic (``real.lab.task``); seeds are ``RunConfig.seed`` + offset.

    Test and validation prompts are removed from the SFT set and the RL pool (held out means held out).

    The zero-absorbs shortcut (``real.lab.task``): ``sft_shortcut_rate`` is the probability that an SFT problem
    hitting 0 early is taught the shortcut instead of its full solution (seed ``RunConfig.seed`` +
    ``shortcut_seed_offset``); ``rl_class_shares`` / ``test_class_shares`` (none, trap_right, trap_wrong), when
    not empty, fix the trap-class mix of the RL pool / test set (empty: as random chains come)."""

    sft_problems: int = 20000
    sft_ops: tuple = (1, 2, 3, 4, 5, 6)
    rl_pool: int = 2000
    rl_ops: tuple = (2, 3, 4, 5, 6)
    test_problems: int = 200
    test_ops: tuple = (2, 3, 4, 5, 6)
    validation_problems: int = 200
    validation_ops: tuple = (2, 3, 4, 5, 6)
    sft_seed_offset: int = 0
    test_seed_offset: int = 1
    rl_seed_offset: int = 2
    validation_seed_offset: int = 3
    sft_shortcut_rate: float = 0.0
    shortcut_seed_offset: int = 4
    rl_class_shares: tuple = ()
    test_class_shares: tuple = ()

    def __post_init__(self):
        from real.lab.task import check_class_shares

        for f in ("sft_problems", "rl_pool", "test_problems", "validation_problems"):
            check_int(f"task.{f}", getattr(self, f))
        for f in ("sft_ops", "rl_ops", "test_ops", "validation_ops"):
            _ops(f"task.{f}", getattr(self, f))
        for f in ("sft_seed_offset", "test_seed_offset", "rl_seed_offset", "validation_seed_offset", "shortcut_seed_offset"):
            check_int(f"task.{f}", getattr(self, f), 0)
        check_number("task.sft_shortcut_rate", self.sft_shortcut_rate, low=0, high=1)
        for f in ("rl_class_shares", "test_class_shares"):
            if getattr(self, f) != ():
                check_class_shares(f"task.{f}", getattr(self, f))


@dataclass(frozen=True)
class SFTConfig:
    """Stage 1 (``real.lab.sft``): AdamW with linear warm-up and cosine decay to ``final_lr_fraction`` of the
    peak over ``steps``, gradients clipped to ``max_grad_norm``; stops at the first check (every
    ``eval_every`` steps) where the sampled pass@1 on the validation set (``validation_samples`` samples per
    problem at T = 1, ``validation_max_tokens`` tokens, seed ``RunConfig.seed + validation_seed_offset``)
    reaches ``target_pass_at_1`` (``None``: no early stopping)."""

    steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 3e-3
    warmup: int = 100
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seq_len: int = 64
    target_pass_at_1: float | None = 0.5
    eval_every: int = 10
    validation_samples: int = 4
    validation_max_tokens: int = 48
    validation_seed_offset: int = 50

    def __post_init__(self):
        for f in ("steps", "batch_size", "seq_len", "eval_every", "validation_samples", "validation_max_tokens"):
            check_int(f"sft.{f}", getattr(self, f))
        check_int("sft.warmup", self.warmup, 0)
        check_int("sft.validation_seed_offset", self.validation_seed_offset, 0)
        check_number("sft.learning_rate", self.learning_rate, low=0, low_open=True)
        check_number("sft.final_lr_fraction", self.final_lr_fraction, low=0, high=1)
        check_number("sft.weight_decay", self.weight_decay, low=0)
        check_number("sft.max_grad_norm", self.max_grad_norm, low=0, low_open=True)
        if self.target_pass_at_1 is not None:
            check_number("sft.target_pass_at_1", self.target_pass_at_1, low=0, high=1)


TOKEN_METHODS = ("rlpr", "ppl_reweight", "position_bonus")  # real-model methods beyond the shared group registry


@dataclass(frozen=True)
class RLConfig:
    """Stage 2 (``real.lab.rl``): ``steps`` RL steps of ``batch_problems`` problems x ``n_rollouts`` rollouts
    at ``temperature`` / ``top_p`` (at most ``max_tokens`` new tokens); ``ppo_epochs`` passes of the
    PPO-clipped surrogate (``clip_eps``), AdamW at ``learning_rate`` with ``weight_decay``, gradients clipped
    to ``max_grad_norm``; a checkpoint every ``checkpoint_every`` steps (and at the last).

    ``advantage`` names the method: any entry of ``theory.advantage_registry`` (``k``: the Pass@k group size;
    ``bonus_coef``, ``ucb_b0``: the exploration bonuses' weight and UCB-Con baseline, Song et al. 2025;
    ``noise_rate``, ``entropy_coef``: the noisy-reward and entropy-bonus controls, as in the simulator) or one
    of :data:`TOKEN_METHODS`, which need the policy's token probabilities and exist only on a real model, each
    on top of GRPO:

    - ``rlpr`` (Yu et al. 2025): the reward is the policy's mean probability of the reference answer after its
      own reasoning (``real.lab.probability_reward``), debiased by the no-reasoning score when ``rlpr_debias``
      (clip(r - r', 0, 1)); prompts whose reward std is below ``rlpr_std_beta`` x an EMA (new-value weight
      ``rlpr_ema_weight``) of the batch's mean std are dropped (advantage 0); the verifier is not used;
    - ``ppl_reweight`` (Deng et al. 2025): GRPO x (1 - ``ppl_alpha`` z(ln PPL)), ``theory.token_shaping``;
    - ``position_bonus`` (Deng et al. 2025): GRPO x (1 + ``position_beta`` x relative token position)."""

    steps: int = 60
    batch_problems: int = 64
    n_rollouts: int = 8
    advantage: str = "grpo"
    k: int = 4
    bonus_coef: float = 0.2
    noise_rate: float = 0.1
    entropy_coef: float = 0.01
    ucb_b0: float = 0.5
    ppl_alpha: float = 0.1
    position_beta: float = 0.5
    rlpr_debias: bool = True
    rlpr_std_beta: float = 0.5
    rlpr_ema_weight: float = 0.01
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    clip_eps: float = 0.2
    ppo_epochs: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 48
    checkpoint_every: int = 10

    def __post_init__(self):
        from theory.advantage_registry import ADVANTAGES
        from theory.token_shaping import max_ppl_alpha

        for f in ("steps", "batch_problems", "n_rollouts", "k", "ppo_epochs", "max_tokens", "checkpoint_every"):
            check_int(f"rl.{f}", getattr(self, f))
        if self.advantage not in ADVANTAGES and self.advantage not in TOKEN_METHODS:
            raise ValueError(f"rl.advantage: unknown name {self.advantage!r}; known: "
                             f"{', '.join(sorted(ADVANTAGES) + list(TOKEN_METHODS))}")
        if self.k > self.n_rollouts:
            raise ValueError(f"rl.k: must lie in [1, rl.n_rollouts = {self.n_rollouts}], got {self.k}")
        if self.advantage == "passk_full" and self.n_rollouts % self.k:
            raise ValueError(f"rl.k: passk_full needs rl.n_rollouts = {self.n_rollouts} divisible by k, got {self.k}")
        check_number("rl.bonus_coef", self.bonus_coef, low=0)
        check_number("rl.noise_rate", self.noise_rate, low=0, high=1)
        check_number("rl.entropy_coef", self.entropy_coef, low=0)
        check_number("rl.ucb_b0", self.ucb_b0, low=0, high=1)
        check_number("rl.ppl_alpha", self.ppl_alpha, low=0, high=max_ppl_alpha(self.n_rollouts))
        check_number("rl.position_beta", self.position_beta, low=0)
        if not isinstance(self.rlpr_debias, bool):
            raise ValueError(f"rl.rlpr_debias: must be true or false, got {self.rlpr_debias!r}")
        check_number("rl.rlpr_std_beta", self.rlpr_std_beta, low=0)
        check_number("rl.rlpr_ema_weight", self.rlpr_ema_weight, low=0, low_open=True, high=1)
        check_number("rl.learning_rate", self.learning_rate, low=0, low_open=True)
        check_number("rl.weight_decay", self.weight_decay, low=0)
        check_number("rl.max_grad_norm", self.max_grad_norm, low=0, low_open=True)
        check_number("rl.clip_eps", self.clip_eps, low=0, low_open=True)
        check_number("rl.temperature", self.temperature, low=0, low_open=True)
        check_number("rl.top_p", self.top_p, low=0, low_open=True, high=1)


@dataclass(frozen=True)
class EvalConfig:
    """Checkpoint evaluation: ``n_samples`` samples per test problem at ``temperature`` / ``top_p``, at most
    ``max_tokens`` new tokens; checkpoint s is sampled with seed ``RunConfig.seed + seed_offset + s``.

    The evaluation protocol (issue 14; off by default, and then records and analysis are exactly as without
    it): ``greedy`` adds greedy decoding (T = 0, one sample per problem), ``temperatures`` adds sampled
    temperatures (each ``n_samples`` samples, the j-th (1-based) with seed ``RunConfig.seed + seed_offset + s +
    j x real.lab.evaluate.TEMPERATURE_SEED_STRIDE``). With either, every record carries its ``temperature``
    and the analysis adds the protocol comparison (SC gain against pass@1 at the same T and against greedy)."""

    n_samples: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 48
    seed_offset: int = 100
    temperatures: tuple = ()
    greedy: bool = False

    def __post_init__(self):
        check_int("evaluation.n_samples", self.n_samples)
        check_int("evaluation.max_tokens", self.max_tokens)
        check_int("evaluation.seed_offset", self.seed_offset, 0)
        check_number("evaluation.temperature", self.temperature, low=0)
        check_number("evaluation.top_p", self.top_p, low=0, low_open=True, high=1)
        if not isinstance(self.temperatures, tuple):
            raise ValueError(f"evaluation.temperatures: must be a tuple of numbers > 0, got {self.temperatures!r}")
        for t in self.temperatures:
            check_number("evaluation.temperatures", t, low=0, low_open=True)
        if len(set(self.temperatures) | {self.temperature}) != len(self.temperatures) + 1:
            raise ValueError(f"evaluation.temperatures: must not repeat or contain evaluation.temperature = {self.temperature}, "
                             f"got {self.temperatures!r}")
        if not isinstance(self.greedy, bool):
            raise ValueError(f"evaluation.greedy: must be true or false, got {self.greedy!r}")
        if self.greedy and self.temperature == 0:
            raise ValueError("evaluation.greedy: evaluation.temperature is already 0 (greedy); set one of them")

    @property
    def protocol(self) -> bool:
        """True when the evaluation protocol is on (``greedy`` or extra ``temperatures``)."""
        return self.greedy or bool(self.temperatures)


def _default_model() -> LlamaConfig:
    """3 layers, width 96, 3 heads of size 32 (a head size vLLM's CPU attention runs: ``real.lab.hf_export``;
    4 heads of 24 have the same parameters and vLLM refuses them)."""
    from real.lab.tokenizer import CharTokenizer

    return LlamaConfig(vocab_size=CharTokenizer().vocab_size, hidden_size=96, intermediate_size=288, num_hidden_layers=3,
                       num_attention_heads=3, num_key_value_heads=3, max_position_embeddings=80)


SECTIONS = {"model": LlamaConfig, "task": TaskConfig, "sft": SFTConfig, "rl": RLConfig, "evaluation": EvalConfig}


@dataclass(frozen=True)
class RunConfig:
    """The whole setting of one real RLVR run (module docstring); ``seed`` is the master seed (also the
    model's initialisation key and the SFT/RL batch generators' seed)."""

    model: LlamaConfig = field(default_factory=_default_model)
    task: TaskConfig = field(default_factory=TaskConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0

    def __post_init__(self):
        from real.lab.tokenizer import CharTokenizer

        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"{name}: must be a {cls.__name__}, got {type(getattr(self, name)).__name__}")
        check_int("seed", self.seed, 0)
        vocab = CharTokenizer().vocab_size
        if self.model.vocab_size != vocab:
            raise ValueError(f"model.vocab_size: must equal the tokenizer's vocabulary ({vocab}), got {self.model.vocab_size}")
        from real.lab.task import Problem

        longest = max(self.task.test_ops + self.task.rl_ops)  # <bos> + the task's own prompt, then the new tokens
        need = 1 + len(Problem("", (0,) * (longest + 1), ("+",) * longest).prompt) + max(self.rl.max_tokens, self.evaluation.max_tokens)
        if need > self.model.max_position_embeddings:
            raise ValueError(f"model.max_position_embeddings: prompts of up to {max(self.task.test_ops + self.task.rl_ops)} "
                             f"operations plus {max(self.rl.max_tokens, self.evaluation.max_tokens)} new tokens need {need} "
                             f"positions, got {self.model.max_position_embeddings}")

    def replace(self, **sections) -> RunConfig:
        """A copy with some fields replaced: ``cfg.replace(rl={"advantage": "ucb"}, seed=1)`` (a dict edits
        fields of a section; a section object replaces it)."""
        kw = {}
        for name, value in sections.items():
            if name in SECTIONS and isinstance(value, dict):
                kw[name] = _replace_fields(name, getattr(self, name), value)
            elif name in SECTIONS or name == "seed":
                kw[name] = value
            else:
                raise ValueError(f"{name}: not a section of RunConfig (known: {', '.join(SECTIONS)}, seed)")
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        """The full serialization (``setting.json``): every field of every section."""
        out = {name: _jsonable(dataclasses.asdict(getattr(self, name))) for name in SECTIONS}
        out["seed"] = self.seed
        return out

    @classmethod
    def from_dict(cls, doc: dict) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown sections or fields are errors naming them, missing ones take defaults."""
        if not isinstance(doc, dict):
            raise ValueError(f"setting: expected an object, got {type(doc).__name__}")
        unknown = set(doc) - set(SECTIONS) - {"seed"}
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a section of RunConfig (known: {', '.join(SECTIONS)}, seed)")
        base = cls()
        kw = {name: _replace_fields(name, getattr(base, name), doc[name]) for name in SECTIONS if name in doc}
        if "seed" in doc:
            kw["seed"] = doc["seed"]
        return dataclasses.replace(base, **kw)


def _replace_fields(section: str, obj, values: dict):
    if not isinstance(values, dict):
        raise ValueError(f"{section}: expected an object of fields, got {type(values).__name__}")
    names = {f.name for f in dataclasses.fields(obj)}
    for k in values:
        if k not in names:
            raise ValueError(f"{section}.{k}: not a field of {type(obj).__name__} (known: {', '.join(sorted(names))})")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return dataclasses.replace(obj, **values)


def _jsonable(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def flatten_setting(doc: dict, prefix: str = "") -> dict:
    """``{"rl": {"learning_rate": 2e-4}}`` -> ``{"rl.learning_rate": 2e-4}`` (lists kept as values)."""
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(flatten_setting(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def setting_differences(have: dict, want: dict) -> list[str]:
    """Dotted field names whose values differ between two ``to_dict()`` settings, each as
    ``"rl.learning_rate: 0.0002 -> 0.0003"`` (``<absent>`` for a field one side lacks), sorted."""
    a, b = flatten_setting(have), flatten_setting(want)
    missing = "<absent>"
    return [f"{k}: {a.get(k, missing)!r} -> {b.get(k, missing)!r}" for k in sorted(set(a) | set(b)) if a.get(k, missing) != b.get(k, missing)]


# the quick run: 40 RL steps (pass@1 0.550 -> 0.631 at step 40 and 0.632 at step 60 in the 60-step quick run it
# replaced: the last 20 steps cost 1.5 min of the main job and added nothing)
QUICK = RunConfig().replace(rl={"steps": 40})
# the full run keeps the quick base model and trains and evaluates longer: 150 RL steps, 32 samples per test
# problem (a base trained to convergence solves nearly every problem and leaves RL nothing to do)
FULL = QUICK.replace(rl={"steps": 150, "checkpoint_every": 15}, evaluation={"n_samples": 32})
