"""`convcalc shape --file` on real Keras model configs, against what Keras says.

tests/data/models/ is written by scripts/make_golden_models.py (which needs
TensorFlow; these tests do not): ``<name>.json.gz`` is the gzipped text of
``model.to_json()``, ``expected.json`` holds Keras's input/output shapes,
parameter totals (trainable and non-trainable) and, per layer of
``model.layers``, its class, output shape (first call), parameter counts and
the layers feeding it. ``small_unet.keras`` is a real ``model.save()`` archive.
Every model must match exactly.
"""

import gzip
import json

import pytest

from conftest import run
from golden_helpers import DATA, assert_no_differences, load_json, model_differences as differences, outcome

MODELS_DIR = DATA / "models"
GOLDEN = load_json("models", "expected.json")
MODELS = GOLDEN["models"]
ARCHIVES = [name for name, model in MODELS.items() if "archive" in model]

APPLICATIONS = {"vgg16", "resnet50", "mobilenet_v2", "densenet121", "efficientnet_b0",
                "xception", "nasnet_mobile"}
HAND_BUILT = {"dcgan_generator", "small_unet", "channels_first_autoencoder",
              "nested_functional", "nested_sequential", "layer_zoo"}


def run_shape(path):
    return run("shape", "--file", path, "--format", "json")


def gunzip(name, directory):
    """The model's config as a .json file, exactly as model.to_json() wrote it."""
    target = directory / f"{name}.json"
    target.write_bytes(gzip.decompress((MODELS_DIR / MODELS[name]["file"]).read_bytes()))
    return target


def describe(name, result):
    return f"{name}: {outcome(result, 2000)}"


@pytest.mark.parametrize("name", list(MODELS))
def test_model_config(name, tmp_path):
    expected = MODELS[name]
    result = run_shape(gunzip(name, tmp_path))
    assert result.exit_code == 0, describe(name, result)
    out = json.loads(result.stdout)
    assert_no_differences(differences(expected, out), describe(name, result)[:500], most=60)


@pytest.mark.parametrize("name", ARCHIVES)
def test_keras_archive(name, tmp_path):
    """A .keras archive (zip with config.json, metadata.json, model.weights.h5):
    only its config is read."""
    archive = tmp_path / MODELS[name]["archive"]
    archive.write_bytes((MODELS_DIR / MODELS[name]["archive"]).read_bytes())
    result = run_shape(archive)
    assert result.exit_code == 0, describe(name, result)
    diffs = differences(MODELS[name], json.loads(result.stdout))
    assert_no_differences(diffs, describe(name, result)[:500], most=60)


def test_json_config_does_not_need_gzip_suffix(tmp_path):
    """The test data is stored gzipped; the CLI reads the plain .json text."""
    path = gunzip("small_unet", tmp_path)
    assert json.loads(path.read_text())["class_name"] == "Functional"


def test_golden_models_are_all_there():
    """The golden data cannot silently shrink: the applications and hand-built
    models the issue names, their files, and the layer kinds they exercise."""
    assert set(MODELS) >= APPLICATIONS | HAND_BUILT
    sources = [model["source"] for model in MODELS.values()]
    assert sources.count("keras.applications") >= 6
    assert sources.count("hand-built") >= 4
    for name, model in MODELS.items():
        assert (MODELS_DIR / model["file"]).is_file(), name
        assert model["layers"], name
    assert ARCHIVES and all((MODELS_DIR / MODELS[n]["archive"]).is_file() for n in ARCHIVES)
    assert {m["class_name"] for m in MODELS.values()} == {"Functional", "Sequential"}
    assert any(m["n_inputs"] > 1 for m in MODELS.values())
    assert any(m["n_outputs"] > 1 for m in MODELS.values())
    assert any(m["non_trainable_params"] > 0 for m in MODELS.values())
    classes = {layer["class_name"] for m in MODELS.values() for layer in m["layers"].values()}
    assert {"Sequential", "Functional"} <= classes  # nested models used as layers
    assert any(layer.get("calls", 1) > 1 for m in MODELS.values()
               for layer in m["layers"].values())  # a shared (nested) layer
    total = sum(p.stat().st_size for p in MODELS_DIR.iterdir() if p.is_file())
    assert total < 6_000_000
