"""The run's one setting: validation names the field, to_dict is the full serialization, differences are dotted."""

import dataclasses
import json

import pytest

from real.lab.config import FULL, QUICK, SECTIONS, RunConfig, flatten_setting, setting_differences


def test_round_trip_through_json_is_exact():
    for cfg in (QUICK, FULL, QUICK.replace(rl={"advantage": "passk_full", "k": 2}, task={"rl_ops": (3, 4)}, seed=5)):
        doc = json.loads(json.dumps(cfg.to_dict()))
        assert RunConfig.from_dict(doc) == cfg


def test_serialization_holds_every_field_of_every_section():
    flat = flatten_setting(QUICK.to_dict())
    want = {f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)} | {"seed"}
    assert set(flat) == want


def test_quick_and_full_share_the_base_model_setting():
    assert QUICK.model == FULL.model and QUICK.task == FULL.task and QUICK.sft == FULL.sft
    assert setting_differences(QUICK.to_dict(), FULL.to_dict()) == [
        "evaluation.n_samples: 16 -> 32", "rl.checkpoint_every: 10 -> 15", "rl.steps: 40 -> 150"]


@pytest.mark.parametrize("section, edit, message", [
    ("sft", {"learning_rate": -1.0}, r"sft\.learning_rate: must be > 0"),
    ("sft", {"target_pass_at_1": 1.5}, r"sft\.target_pass_at_1: must lie in \[0, 1\], got 1\.5"),
    ("rl", {"advantage": "nope"}, r"rl\.advantage: unknown name 'nope'"),
    ("rl", {"k": 9}, r"rl\.k: must lie in \[1, rl\.n_rollouts = 8\], got 9"),
    ("rl", {"advantage": "passk_full", "k": 3}, r"rl\.k: passk_full needs rl\.n_rollouts = 8 divisible by k"),
    ("rl", {"noise_rate": 2.0}, r"rl\.noise_rate: must lie in \[0, 1\], got 2\.0"),
    ("task", {"test_ops": ()}, r"task\.test_ops: must be a non-empty tuple"),
    ("task", {"rl_pool": 0}, r"task\.rl_pool: must be an integer >= 1"),
    ("evaluation", {"top_p": 0.0}, r"evaluation\.top_p: must lie in \(0, 1\], got 0\.0"),
    ("rl", {"unknown_knob": 1}, r"rl\.unknown_knob: not a field of RLConfig"),
    # the methods' parameters, each outside its domain, fail when the setting is built (before any training)
    ("rl", {"bonus_coef": -0.1}, r"rl\.bonus_coef: must be >= 0, got -0\.1"),
    ("rl", {"entropy_coef": -1.0}, r"rl\.entropy_coef: must be >= 0"),
    ("rl", {"ucb_b0": 1.5}, r"rl\.ucb_b0: must lie in \[0, 1\], got 1\.5"),
    ("rl", {"top_p": 0.0}, r"rl\.top_p: must lie in \(0, 1\], got 0\.0"),
    ("rl", {"top_p": 1.2}, r"rl\.top_p: must lie in \(0, 1\], got 1\.2"),
    ("rl", {"ppl_alpha": 0.5}, r"rl\.ppl_alpha: must lie in \[0, 0\.377964\], got 0\.5"),  # 1/sqrt(8 - 1)
    ("rl", {"position_beta": -0.5}, r"rl\.position_beta: must be >= 0"),
    ("rl", {"rlpr_std_beta": -1.0}, r"rl\.rlpr_std_beta: must be >= 0"),
    ("rl", {"rlpr_ema_weight": 0.0}, r"rl\.rlpr_ema_weight: must lie in \(0, 1\], got 0\.0"),
    ("rl", {"rlpr_debias": 1}, r"rl\.rlpr_debias: must be true or false"),
    ("rl", {"advantage": "rlpr_typo"}, r"rl\.advantage: unknown name 'rlpr_typo'; known: .*position_bonus"),
])
def test_bad_values_name_the_field(section, edit, message):
    with pytest.raises(ValueError, match=message):
        QUICK.replace(**{section: edit})


def test_cross_section_checks_name_the_field():
    with pytest.raises(ValueError, match=r"model\.vocab_size: must equal the tokenizer's vocabulary"):
        QUICK.replace(model=dataclasses.replace(QUICK.model, vocab_size=40))
    with pytest.raises(ValueError, match=r"model\.max_position_embeddings: prompts of up to 6 operations plus 48 new tokens"):
        QUICK.replace(model=dataclasses.replace(QUICK.model, max_position_embeddings=40))
    with pytest.raises(ValueError, match=r"nope: not a section of RunConfig"):
        RunConfig.from_dict({"nope": {}})


def test_setting_differences_are_dotted_and_mark_absent_fields():
    have = QUICK.to_dict()
    want = QUICK.replace(rl={"learning_rate": 3e-4}).to_dict()
    assert setting_differences(have, want) == ["rl.learning_rate: 0.0002 -> 0.0003"]
    del have["evaluation"]["top_p"]
    assert "evaluation.top_p: '<absent>' -> 1.0" in setting_differences(have, QUICK.to_dict())


def test_a_run_written_before_a_field_existed_is_not_stale(tmp_path):
    """A setting.json without a field a newer version added ran with that field's default: the folder is accepted;
    a real difference is still refused."""
    import json

    import pytest

    from real.lab.config import QUICK
    from real.lab.run import StaleRunError, claim_run_folder

    old = QUICK.to_dict()
    del old["task"]["sft_shortcut_rate"], old["evaluation"]["greedy"]
    (tmp_path / "setting.json").write_text(json.dumps(old))
    claim_run_folder(tmp_path, QUICK)  # accepted
    with pytest.raises(StaleRunError, match="task.sft_shortcut_rate"):
        claim_run_folder(tmp_path, QUICK.replace(task={"sft_shortcut_rate": 0.3}))
