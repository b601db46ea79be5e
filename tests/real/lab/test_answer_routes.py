"""One answer parser on every route: a completion cut off before ``####`` reads the same answer in the RL
reward, in the lab's checkpoint evaluation and in ``real evaluate --sampler jax`` (it read None on the RL
path and "5" through ``real evaluate`` before the parsers were merged)."""

import json

import pytest

from real.lab.checkpoints import save_checkpoint
from real.lab.evaluate import evaluate_checkpoints, evaluate_params
from real.lab.rl import rewards_of
from real.lab.samplers.interface import Completion
from real.lab.samplers.jax import JaxSampler
from real.lab.task import make_problems, problem_records
from real.logs.answers import extract_answer

TRUNCATED = "2*3=6;6-1=5"  # no "#### 5": max_tokens ran out before the final line


@pytest.fixture()
def truncated_sampler(monkeypatch):
    def generate(self, request):
        return [[Completion(TRUNCATED, tuple(range(len(TRUNCATED))), (-0.1,) * len(TRUNCATED), finished=False)
                 for _ in range(request.n)] for _ in request.prompts]

    monkeypatch.setattr(JaxSampler, "generate", generate)


def _problem(answer: str):
    return next(p for p in make_problems(200, [2, 3], seed=0) if p.answer == answer)


def test_the_truncated_completion_reads_one_answer_on_every_route(tiny_lm, truncated_sampler, tmp_path):
    assert extract_answer(TRUNCATED) == "5"
    right, wrong = _problem("5"), _problem("7")
    comps = JaxSampler(tiny_lm.params, tiny_lm.config, tiny_lm.tokenizer).generate(
        type("R", (), {"prompts": [right.prompt, wrong.prompt], "n": 2})())
    # 1. the RL reward
    assert rewards_of([right, wrong], comps).tolist() == [[1.0, 1.0], [0.0, 0.0]]
    # 2. the lab's evaluation of its checkpoints (the records real.logs reads)
    recs = evaluate_params(tiny_lm.params, tiny_lm.config, [right, wrong], checkpoint=0, n=2, tokenizer=tiny_lm.tokenizer)
    assert [(r["answer"], r["correct"]) for r in recs] == [("5", True)] * 2 + [("5", False)] * 2
    # 3. python -m real evaluate --sampler jax on a saved checkpoint folder (graded by AnswerEquivalence)
    save_checkpoint(tmp_path / "ckpt", tiny_lm.params, tiny_lm.config)
    problems = tmp_path / "problems.jsonl"
    problems.write_text("\n".join(json.dumps(r) for r in problem_records([right, wrong])) + "\n")
    out = evaluate_checkpoints([("c0", str(tmp_path / "ckpt"))], problems, tmp_path / "samples.jsonl", sampler="jax", n=2,
                               log=lambda s: None)
    recs3 = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["answer"], r["correct"]) for r in recs3] == [("5", True)] * 2 + [("5", False)] * 2
