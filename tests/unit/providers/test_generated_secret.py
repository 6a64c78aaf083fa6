"""The generated-once secret: strong at create, unchanged by diff/update/read, secret in state.

Driven directly, and the way the engine runs it: serialized with the SDK's own `serialize_provider`,
loaded by `python -m pulumi.dynamic` in a fresh interpreter and called over gRPC.
"""

from __future__ import annotations

import base64
import math
from collections import Counter

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from components.providers.generated_secret import ALPHABET, DEFAULT_LENGTH, MAX_LENGTH, MIN_LENGTH, GeneratedSecretProvider, \
    generate_secret
from tests.pulumi_harness import DynamicProviderHost

URN = "urn:pulumi:dev::clerk-hasura::pulumi-python:dynamic/generated_secret:GeneratedSecret::backend-admin-secret"


# --- directly -------------------------------------------------------------------------------------------

def test_create_makes_a_strong_value():
    result = GeneratedSecretProvider().create({"length": DEFAULT_LENGTH})
    value = result.outs["value"]
    assert result.id and len(value) == DEFAULT_LENGTH and set(value) <= set(ALPHABET)
    assert DEFAULT_LENGTH * math.log2(len(ALPHABET)) >= 128  # bits of entropy
    assert result.outs["length"] == DEFAULT_LENGTH


def test_values_are_unique_and_use_the_whole_alphabet():
    values = [generate_secret(DEFAULT_LENGTH) for _ in range(500)]
    assert len(set(values)) == len(values)
    counts = Counter("".join(values))
    assert set(counts) == set(ALPHABET)
    # 20 000 draws over 62 symbols: ~323 each; a biased generator would stray far from that.
    assert max(counts.values()) < 2 * min(counts.values())


def test_diff_and_update_with_unchanged_inputs_keep_the_value():
    provider = GeneratedSecretProvider()
    created = provider.create({"length": DEFAULT_LENGTH})
    olds = created.outs
    diff = provider.diff(created.id, olds, {"length": DEFAULT_LENGTH})
    assert diff.changes is False and not diff.replaces
    updated = provider.update(created.id, olds, {"length": DEFAULT_LENGTH})
    assert updated.outs == olds
    read = provider.read(created.id, olds)
    assert read.id == created.id and read.outs == olds


def test_a_new_length_replaces_the_secret():
    provider = GeneratedSecretProvider()
    created = provider.create({"length": DEFAULT_LENGTH})
    diff = provider.diff(created.id, created.outs, {"length": 64})
    assert diff.changes is True and diff.replaces == ["length"]


@pytest.mark.parametrize("length", [MIN_LENGTH - 1, MAX_LENGTH + 1, "40", 40.5, True, None])
def test_check_refuses_lengths_that_are_not_strong_whole_numbers(length):
    result = GeneratedSecretProvider().check({}, {"length": length})
    assert [f.property for f in result.failures] == ["length"]


def test_check_accepts_the_wire_forms_of_a_length():
    # Numbers cross the engine's wire format as doubles.
    for length in (DEFAULT_LENGTH, float(DEFAULT_LENGTH)):
        result = GeneratedSecretProvider().check({}, {"length": length})
        assert result.failures == [] and result.inputs["length"] == DEFAULT_LENGTH


def test_the_provider_is_serialized_by_reference():
    serialized = serialize_provider(GeneratedSecretProvider())
    raw = base64.b64decode(serialized)
    # Module + class name, no bytecode: code changes do not churn `__provider`, and the host imports the module.
    assert b"components.providers.generated_secret" in raw and b"GeneratedSecretProvider" in raw
    assert len(raw) < 200


# --- the way the engine runs it --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def host():
    with DynamicProviderHost() as running:
        running.configure({})
        yield running


def test_serialized_provider_creates_and_keeps_the_value_across_diff_update_and_read(host):
    provider = serialize_provider(GeneratedSecretProvider())
    inputs, failures = host.check(URN, {}, {"__provider": provider, "length": DEFAULT_LENGTH})
    assert failures == []
    id_, state = host.create(URN, inputs)
    value = state["value"]
    assert id_ and len(value) == DEFAULT_LENGTH and set(value) <= set(ALPHABET)
    assert state["__provider"] == provider

    # The next `pulumi up` with the same program: check, then diff against the stored outputs.
    news, failures = host.check(URN, inputs, {"__provider": provider, "length": DEFAULT_LENGTH})
    assert failures == []
    diff = host.diff(URN, id_, state, news)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert list(diff.replaces) == []

    assert host.update(URN, id_, state, news)["value"] == value
    read_id, read_state = host.read(URN, id_, state)
    assert read_id == id_ and read_state["value"] == value


def test_serialized_provider_replaces_on_a_new_length_and_refuses_a_weak_one(host):
    provider = serialize_provider(GeneratedSecretProvider())
    id_, state = host.create(URN, {"__provider": provider, "length": DEFAULT_LENGTH})
    diff = host.diff(URN, id_, state, {"__provider": provider, "length": 64})
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == ["length"]
    _, failures = host.check(URN, {}, {"__provider": provider, "length": 8})
    assert failures and failures[0][0] == "length"


def test_two_creates_never_share_a_value(host):
    provider = serialize_provider(GeneratedSecretProvider())
    values = {host.create(URN, {"__provider": provider, "length": DEFAULT_LENGTH})[1]["value"] for _ in range(5)}
    assert len(values) == 5
