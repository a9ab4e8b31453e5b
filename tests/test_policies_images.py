"""The policy on your own images loaded into running nodes (policies/images.py)."""

from __future__ import annotations

import pytest

from tests.policy_args import UNKNOWN
from tests.policy_fixtures import AT_LOAD, AT_SYSTEMD, COMMAND, DELETE, LOAD, SYSTEMD, changed, check

PINNED = "loaded-images-pinned"


def test_a_load_of_a_tagged_image_with_its_id_passes():
    assert check(PINNED, COMMAND, LOAD) == []


@pytest.mark.parametrize(
    ("image", "why"),
    [
        ("app", "has no tag"),
        ("localhost:5000/app", "has no tag"),
        ("app:latest", "has the latest tag"),
        ("app@sha256:" + "a" * 64, "names a digest"),
    ],
)
def test_an_image_no_pod_takes_from_the_node_is_reported(image, why):
    (message,) = check(PINNED, COMMAND, changed(LOAD, "environment.KINDLING_IMAGE", image))
    assert f"loads {image!r} {why}" in message


@pytest.mark.parametrize("image_id", ["", "app:dev", "sha256:abc", DELETE])
def test_a_load_not_pinned_to_one_local_image_is_reported(image_id):
    (message,) = check(PINNED, COMMAND, changed(LOAD, "environment.KINDLING_IMAGE_ID", image_id))
    assert "without its local image id" in message


def test_a_load_without_an_image_is_reported():
    (message,) = check(PINNED, COMMAND, changed(LOAD, "environment.KINDLING_IMAGE", DELETE))
    assert "loads no image" in message


def test_a_preview_that_does_not_know_the_values_yet_reports_nothing():
    assert check(PINNED, COMMAND, changed(LOAD, "environment", UNKNOWN)) == []
    assert check(PINNED, COMMAND, changed(LOAD, "environment.KINDLING_IMAGE_ID", UNKNOWN)) == []


def test_other_commands_are_not_its_business():
    assert check(PINNED, COMMAND, SYSTEMD, **AT_SYSTEMD) == []
    assert check(PINNED, COMMAND, LOAD, name=AT_LOAD["name"], parent=None) == []
