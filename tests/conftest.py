"""Test-wide settings."""

from hypothesis import settings

# Hypothesis's per-example deadline (200 ms) measures the host, not the behaviour: on a 2-core CI
# machine busy with a build, rendering a kubeadm config can take longer, and the test would fail
# for that alone. Properties are still checked on every example.
settings.register_profile("kindling", deadline=None)
settings.load_profile("kindling")
