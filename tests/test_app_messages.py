"""The dashboard hands a figure's update to the kernel's sending thread before computing the rest of a tab."""

from __future__ import annotations

import time

import pytest
import zmq
from ipykernel.iostream import IOPubThread
from ipykernel.kernelbase import Kernel

from trialviz.app.figure_widgets import send_queued_messages


@pytest.fixture
def kernel_sending_thread(monkeypatch):
    """A running IOPub thread like a kernel's, seen by ``send_queued_messages`` as the kernel's."""
    context = zmq.Context()
    socket = context.socket(zmq.PUB)
    socket.bind("inproc://trialviz-test")
    thread = IOPubThread(socket)
    thread.start()

    class FakeKernel:
        iopub_thread = thread

    monkeypatch.setattr(Kernel, "initialized", classmethod(lambda cls: True))
    monkeypatch.setattr(Kernel, "instance", classmethod(lambda cls: FakeKernel()))
    yield thread
    thread.stop()
    thread.close()
    context.term()


def test_returns_once_everything_queued_before_was_sent(kernel_sending_thread):
    sent: list[str] = []

    def slow_send() -> None:  # a message that takes the sending thread a while
        time.sleep(0.2)
        sent.append("figure update")

    kernel_sending_thread.schedule(slow_send)
    send_queued_messages()
    assert sent == ["figure update"]


def test_outside_a_kernel_creates_none():
    assert not Kernel.initialized()
    send_queued_messages()
    assert not Kernel.initialized()
