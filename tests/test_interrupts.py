"""A stop signal is never lost, even when Python drops the exception its handler raised."""

from __future__ import annotations

import os
import signal
import time

import pytest

from automl.interrupts import raise_if_interrupted, stop_on_signals


class _SignalledWhileFinalized:
    """Receives SIGTERM inside ``__del__``: Python prints "Exception ignored" and drops the KeyboardInterrupt."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here, inside the finalizer


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception, on purpose
def test_a_signal_swallowed_by_a_finalizer_is_raised_at_the_next_boundary() -> None:
    with stop_on_signals():
        _SignalledWhileFinalized()  # collected at once: the handler's KeyboardInterrupt is dropped
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()


def test_no_signal_no_interrupt_and_the_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        raise_if_interrupted()  # nothing received: returns
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
