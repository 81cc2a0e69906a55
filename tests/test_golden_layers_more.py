"""`convcalc shape` on the 1-D, 3-D, preprocessing and other newer layers, against Keras 3.

tests/data/golden_layers_more.json is written by scripts/make_golden_layers_more.py
(it needs TensorFlow, these tests do not), in the record format of
tests/data/golden_layers.json, and is replayed exactly as tests/test_golden_layers.py
replays that file: same command lines, same comparisons. Weights (name, shape,
trainable) are compared through the library, since the JSON does not list them.
tests/data/layer_aliases.json maps every name in ``dir(keras.layers)`` to its
class's name: each alias of a class convcalc knows must give the same result.
"""

import json

import pytest

from conftest import run
from golden_helpers import DATA, assert_no_differences, assert_refused, load_json
from test_golden_layers import command, describe, differences, invoke

from convcalc.layers import ALIASES, FAMILY_OF, build_layer
from convcalc.parse import parse_call

GOLDEN = load_json("golden_layers_more.json")
CASES = GOLDEN["cases"]
ERRORS = GOLDEN["errors"]

XFAIL: dict[str, str] = {}  # case id -> why convcalc differs from Keras (none today)


def marked(cases):
    """Cases as pytest params, those in XFAIL marked as expected failures (strict)."""
    return [pytest.param(c, id=c["id"], marks=[pytest.mark.xfail(reason=XFAIL[c["id"]], strict=True)]
                         if c["id"] in XFAIL else []) for c in cases]


@pytest.mark.parametrize("case", marked(CASES))
def test_golden_layer_more(case):
    result = invoke(case)
    assert result.exit_code == 0, describe(case, result)
    diffs = differences(case, json.loads(result.stdout))
    assert_no_differences(diffs, describe(case, result))


@pytest.mark.parametrize("case", marked(ERRORS))
def test_golden_layer_more_error(case):
    result = invoke(case)
    assert_refused(result, describe(case, result) + f"\n  Keras: {case['error_type']}: {case['error']}")


def _canonical(spec):
    name = parse_call(spec).short
    return ALIASES.get(name, name)


@pytest.mark.parametrize("case", [c for c in CASES if c["id"] not in XFAIL and "input" in c
                                  and "weights" in c["expected"] and _canonical(c["spec"]) in FAMILY_OF],
                         ids=lambda c: c["id"])
def test_golden_layer_more_weights(case):
    """Each declared weight as Keras's add_weight declares it: name, shape, trainable, in order."""
    layer = build_layer(parse_call(case["spec"]))
    shape = layer.compute(tuple(case["input"]), case["data_format"])
    got = [{"name": w.name, "shape": list(w.shape), "trainable": w.trainable} for w in shape.weights]
    assert got == case["expected"]["weights"], case["id"]


def test_golden_layers_more_cover_the_new_families():
    """The golden data cannot silently lose a layer type of the 1-D and 3-D families."""
    types = {c["type"] for c in CASES}
    for family in ("Conv3D", "Conv3DTranspose", "SeparableConv1D", "DepthwiseConv1D",
                   "MaxPooling1D", "MaxPooling3D", "AveragePooling1D", "AveragePooling3D",
                   "GlobalMaxPooling1D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
                   "GlobalAveragePooling3D", "ZeroPadding1D", "ZeroPadding3D", "Cropping1D",
                   "Cropping3D", "UpSampling1D", "UpSampling3D", "SpatialDropout1D", "SpatialDropout3D"):
        assert family in types, family
    assert len(ERRORS) >= 40


ALIAS_FILE = DATA / "layer_aliases.json"
KERAS_ALIASES = load_json("layer_aliases.json") if ALIAS_FILE.exists() else {}
if isinstance(KERAS_ALIASES, dict) and "aliases" in KERAS_ALIASES:
    KERAS_ALIASES = KERAS_ALIASES["aliases"]


def _alias_pairs():
    return sorted((alias, canonical) for alias, canonical in KERAS_ALIASES.items()
                  if alias != canonical and canonical in FAMILY_OF)


def _a_case_of(canonical):
    """The first single-input golden case of a class (either golden file), if any."""
    for data in (GOLDEN, load_json("golden_layers.json")):
        for case in data["cases"]:
            if case["type"] == canonical and "input" in case and case["id"] not in XFAIL:
                return case
    return None


@pytest.mark.skipif(not KERAS_ALIASES, reason="tests/data/layer_aliases.json not recorded yet")
@pytest.mark.parametrize("alias,canonical", _alias_pairs())
def test_keras_alias_gives_the_same_result(alias, canonical):
    assert ALIASES.get(alias) == canonical, f"{alias} is Keras's name for {canonical}"
    # Conv2D and Conv2DTranspose have no single-layer golden case (golden_shapes.json covers them)
    case = _a_case_of(canonical) or {"id": canonical, "spec": f"{canonical}(4, 3)", "input": [8, 8, 3],
                                     "data_format_via": "default", "data_format": "channels_last"}
    call = parse_call(case["spec"])
    spec = case["spec"].replace(call.func, call.func[: -len(call.short)] + alias, 1)
    aliased = dict(case, spec=spec)
    want, got = run(*command(case)), run(*command(aliased))
    assert got.exit_code == want.exit_code == 0, describe(aliased, got)
    assert got.stdout.replace(alias, canonical) == want.stdout


def test_every_keras_alias_of_a_known_class_is_known():
    """Names Keras 3.15 binds to the same class objects (checked with dir(keras.layers))."""
    recorded = dict(KERAS_ALIASES) or {
        "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
        "Convolution1DTranspose": "Conv1DTranspose", "Convolution2DTranspose": "Conv2DTranspose",
        "Convolution3DTranspose": "Conv3DTranspose", "SeparableConvolution1D": "SeparableConv1D",
        "SeparableConvolution2D": "SeparableConv2D", "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
        "MaxPool3D": "MaxPooling3D", "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
        "AvgPool3D": "AveragePooling3D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
        "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalAvgPool3D": "GlobalAveragePooling3D",
        "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
        "GlobalMaxPool3D": "GlobalMaxPooling3D",
    }
    missing = {a: c for a, c in recorded.items() if a != c and c in FAMILY_OF and ALIASES.get(a) != c}
    assert not missing


@pytest.mark.parametrize("case", GOLDEN["application_layers"], ids=[c["id"] for c in GOLDEN["application_layers"]])
def test_application_layers(case):
    """LayerScale (ConvNeXt) and CustomScaleLayer (InceptionResNetV2) as Keras builds them."""
    from test_golden_layers import input_spec

    inputs = [input_spec(s) for s in case["inputs"]] if "inputs" in case else ["--input", "x".join(map(str, case["input"]))]
    result = run("shape", *inputs, case["spec"], "--format", "json")
    if "error" in case:
        assert_refused(result, f"{case['id']}: Keras refuses: {case['error']}\n{result.output}")
        return
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["layers"][-1]
    want = case["expected"]
    assert (row["output_shape"], row["params"], row["trainable_params"]) == (
        want["output_shape"], want["params"], want["trainable_params"])
    shapes = [tuple(s) for s in case["inputs"]] if "inputs" in case else tuple(case["input"])
    layer = build_layer(parse_call(case["spec"]))
    declared = [{"name": w.name, "shape": list(w.shape), "trainable": w.trainable}
                for w in layer.compute(shapes, "channels_last").weights]
    assert declared == want["weights"]
