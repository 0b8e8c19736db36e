import pytest

from lartpcbench.bench.ablate import build_ablation, parse_variation
from lartpcbench.bench.config import load_run_config
from lartpcbench.bench.overrides import parse_overrides
from lartpcbench.models.config import ConfigError


def test_smoke_preset_resolves_family_configs():
    config = load_run_config("smoke")
    assert [model.name for model in config.models] == ["sgm", "gan", "flow"]
    assert all(model.config_name == "smoke" for model in config.models)
    assert config.dataset.name == "sim64-smoke-v1"
    assert "memorisation" in config.evaluation.metrics


def test_quick_preset_is_default_scale():
    config = load_run_config("quick")
    assert config.dataset.name == "sim64-v1"
    assert config.evaluation.num_samples >= 1000
    assert all(model.config_name == "quick" for model in config.models)


def test_overrides_reach_model_and_train_configs():
    overrides = parse_overrides(["models.gan.train.steps=7", "evaluation.num_samples=64", "dataset.name=\"other\""])
    overrides["model_names"] = ["gan"]
    config = load_run_config("smoke", overrides=overrides)
    assert len(config.models) == 1
    assert config.models[0].train_config.steps == 7
    assert config.evaluation.num_samples == 64
    assert config.dataset.name == "other"
    assert config.to_dict()["models"][0]["train"]["steps"] == 7


@pytest.mark.parametrize(
    ("assignment", "message"),
    [("evaluation.num_samples", "SECTION.KEY=VALUE"), ("training.steps=3", "names section 'training'"), ("=3", "invalid")],
)
def test_overrides_reject_malformed(assignment, message):
    with pytest.raises(ConfigError, match=message):
        parse_overrides([assignment])


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match=r"unknown keys \['num_sample'\]"):
        load_run_config("smoke", overrides=parse_overrides(["evaluation.num_sample=5"]))
    with pytest.raises(ConfigError, match=r"unknown keys \['bogus'\]"):
        load_run_config("smoke", overrides={"model_names": ["gan"], **parse_overrides(["models.gan.model.bogus=1"])})
    with pytest.raises(ConfigError, match="steps is 0"):
        load_run_config("smoke", overrides={"model_names": ["gan"], **parse_overrides(["models.gan.train.steps=0"])})
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        load_run_config("fast")
    with pytest.raises(ConfigError, match="metrics is 'everything'"):
        load_run_config("smoke", overrides=parse_overrides(["evaluation.metrics=\"everything\""]))


def test_ablation_builds_one_row_per_value():
    base = load_run_config("smoke", overrides={"model_names": ["gan"]})
    config = build_ablation(base, "models.gan.train.learning_rate=1e-4,2e-4,4e-4")
    assert [model.label for model in config.models] == ["gan[learning_rate=0.0001]", "gan[learning_rate=0.0002]", "gan[learning_rate=0.0004]"]
    assert [model.train_config.learning_rate for model in config.models] == [1e-4, 2e-4, 4e-4]
    assert all(model.config_name == "smoke" for model in config.models)
    with pytest.raises(ConfigError, match="at least two"):
        parse_variation("models.gan.train.steps=5")
    with pytest.raises(ConfigError, match="invalid"):
        parse_variation("evaluation.num_samples=5,6")


def test_sampling_overrides_change_sampler_only():
    from lartpcbench.models.config import with_sampling_overrides
    from lartpcbench.models.sgm.config import SGMConfig

    config = SGMConfig()
    changed = with_sampling_overrides(config, {"sampler": {"name": "ddim", "steps": 50}}, ("sampler",))
    assert (changed.sampler.name, changed.sampler.steps) == ("ddim", 50)
    assert changed.network == config.network
    assert changed.sampler.rho == config.sampler.rho
    with pytest.raises(ConfigError, match="'sde' is not a sampling setting"):
        with_sampling_overrides(config, {"sde": {"kind": "ve"}}, ("sampler",))
    with pytest.raises(ConfigError, match="unknown keys"):
        with_sampling_overrides(config, {"sampler": {"stpes": 5}}, ("sampler",))
    with pytest.raises(ConfigError, match="sampler is a table"):
        with_sampling_overrides(config, {"sampler": "ddim"}, ("sampler",))
