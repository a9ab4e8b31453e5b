"""Bad input, fuzzed (reliability drill 4): whatever a stack file holds, the user gets lines naming
`kindling:` keys, never a Python traceback, and nothing is registered.

The engine hands the program every value as text (structured values as JSON), so the generated
configurations are what a stack file can say: odd strings, numbers of any size, JSON of the wrong
shape, huge lists, unknown keys. Each is run through the real ``__main__.py`` under Pulumi's mocks.
A Pulumi ``RunError`` (kindling's ``SpecError``) is what the CLI prints as a message alone; any other
exception reaches the user as a traceback, which is what this test exists to catch.
"""

from __future__ import annotations

import json
import math

import pulumi
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic.alias_generators import to_camel

from kindling.config import NAMESPACE, SpecError, StackConfig
from tests.pulumi_harness import Registration, run_program

STACK = "k8s-1-19-1"
KNOWN_KEYS = sorted(to_camel(name) for name in StackConfig.model_fields)
RUNS = {"configurations": 0, "refused": 0}

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),  # surrogates left out: YAML cannot hold them
    st.sampled_from(["", " ", "-1", "1e400", "nan", "inf", "0x10", "١٢", "true", "null", "[]", "{}", "{", "\x00",
                     "1.19.1", "v1.19.1", "1.19", "10.0.0.0/33", "256.1.1.1", "auto", "a" * 5000]),
)  # fmt: skip
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
NESTED_KEYS = ["name", "chart", "repo", "path", "version", "namespace", "values", "containerd", "baseImage"]
json_values = st.recursive(
    st.one_of(st.none(), numbers.filter(lambda n: not (isinstance(n, float) and not math.isfinite(n))), odd_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(odd_text, st.sampled_from(NESTED_KEYS)), children, max_size=4),
    ),
    max_leaves=12,
)
huge_lists = st.integers(min_value=200, max_value=3000).flatmap(
    lambda size: st.sampled_from([["debian:bookworm"] * size, [{"name": "a"}] * size, list(range(size))])
)


def as_engine_text(value: object) -> str:
    """A stack file's value as the engine passes it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


engine_values = st.one_of(
    odd_text,
    numbers.map(str),
    json_values.map(as_engine_text),
    huge_lists.map(json.dumps),
)
configurations = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_KEYS), odd_text.filter(lambda key: key not in KNOWN_KEYS)),
    engine_values,
    max_size=6,
)


@settings(max_examples=1100, suppress_health_check=list(HealthCheck))
@given(configurations, st.booleans())
# What this test found first, each a traceback before: a null download base, numbers and objects as images.
@example({"downloads": '{"containerd": null}'}, True)
@example({"preloadImages": "[0, 1, 2]"}, True)
@example({"preloadImages": '[{"name": "a"}]', "nodeImage": "7"}, True)
def test_any_stack_file_gets_key_named_lines_and_registers_nothing_when_refused(raw: dict[str, str], versioned: bool):
    config = {"kubernetesVersion": "1.19.1", **raw} if versioned else raw
    registered: list[Registration] = []
    RUNS["configurations"] += 1
    try:
        run_program(STACK, config, registered=registered)
    except SpecError as refused:
        RUNS["refused"] += 1
        assert isinstance(refused, pulumi.RunError)  # printed as the message alone, no traceback
        assert refused.problems
        for line in refused.problems:
            assert f"{NAMESPACE}:" in line, line
            assert "Traceback" not in line and "pydantic" not in line.lower(), line
        assert [r for r in registered if r.type_ != "pulumi:pulumi:Stack"] == []
    # Anything else raised (a traceback for the user) fails the test with that exception.


def test_the_fuzzing_ran_its_thousand_configurations_and_most_were_refused():
    # Runs after the property above in file order; guards against a strategy that quietly shrinks.
    if RUNS["configurations"] == 0:
        test_any_stack_file_gets_key_named_lines_and_registers_nothing_when_refused()
    assert RUNS["configurations"] >= 1000
    assert RUNS["refused"] >= RUNS["configurations"] // 2
