"""make bench times an up to the instant CoreDNS answered the check's pod (which the pod prints), not to
the moment the kubelet and the check noticed it had: both contenders alike."""

import time

from bench.clock import timed
from tests.e2e.checks import DNS_NAME, answered_at


def test_the_answer_instant_is_the_pods_last_line():
    logs = f"10.96.0.1       STREAM {DNS_NAME}\n10.96.0.1       DGRAM\n1764879112.402615533\n"
    assert answered_at(logs) == 1764879112.402615533


def test_a_pod_that_printed_no_instant_has_none():
    assert answered_at(f"10.96.0.1       STREAM {DNS_NAME}\n") is None
    assert answered_at("") is None


def test_an_up_is_timed_to_the_instant_its_check_reports():
    def up_then_noticed_late() -> float:
        answered = time.time()
        time.sleep(0.3)  # the kubelet's next look, the check's poll
        return answered

    assert timed(up_then_noticed_late) < 0.2


def test_without_an_instant_the_up_is_timed_to_its_return():
    assert timed(lambda: time.sleep(0.2) or True) >= 0.2


def test_a_failed_up_is_not_timed():
    assert timed(lambda: False) is None
    assert timed(lambda: None) is None
