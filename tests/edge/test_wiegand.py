"""Wiegand reader on mock pins, driven with real Wiegand timing (µs pulses, ms gaps)."""

import time

import pytest
from gpiozero.pins.mock import MockFactory

from edge.devices.wiegand import WiegandError, WiegandReader, decode_frame, encode_frame, send_frame
from tests.conftest import wait_until

D0, D1 = 5, 6


@pytest.fixture(autouse=True)
def realtime_sender():
    """The test thread plays the reader's hardware: where allowed (root), run it SCHED_FIFO so
    that a busy CI machine does not pause it mid-frame (the reader's own thread, started by
    the test, inherits the policy). Elsewhere the 25 ms frame gap gives the margin."""
    import os
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        changed = True
    except (PermissionError, OSError, AttributeError):
        changed = False
    yield
    if changed:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


@pytest.fixture()
def reader():
    factory = MockFactory()
    reads, errors = [], []
    # Real bit timing from the sender; a 25 ms frame gap (instead of 10) so that a loaded
    # CI machine pausing the sending thread cannot split a frame.
    r = WiegandReader(D0, D1, frame_gap_s=0.025, pin_factory=factory)
    r.when_read = lambda card, bits: reads.append((card, bits))
    r.when_error = errors.append
    yield factory, r, reads, errors
    r.close()


@pytest.mark.parametrize("bits,card", [(26, 0x7B_1234), (34, 0xDEAD_BEEF), (26, 0), (34, 1)])
def test_frames_round_trip_through_parity(bits, card):
    frame = encode_frame(card, bits)
    assert len(frame) == bits
    assert decode_frame(frame) == card


def test_known_26_bit_frame_decodes_to_facility_and_card():
    # facility 123, card 4567: the data bits are 8 + 16 bits, i.e. 123 << 16 | 4567
    frame = encode_frame((123 << 16) | 4567, 26)
    assert decode_frame(frame) == 8065495


def test_flipped_bit_fails_parity():
    frame = encode_frame(0x123456, 26)
    frame[5] ^= 1
    with pytest.raises(WiegandError, match="even parity"):
        decode_frame(frame)
    frame = encode_frame(0x123456, 26)
    frame[20] ^= 1
    with pytest.raises(WiegandError, match="odd parity"):
        decode_frame(frame)


@pytest.mark.parametrize("bits", [26, 34])
def test_reader_reads_frames_sent_with_real_timing(reader, bits):
    factory, r, reads, errors = reader
    card = 0x00AB_CDEF if bits == 26 else 0x1234_5678
    send_frame(factory, D0, D1, encode_frame(card, bits), pulse_s=50e-6, interval_s=0.0015)
    wait_until(lambda: reads, timeout=2)
    assert reads == [(str(card), bits)]
    assert errors == [] and r.counters["frames"] == 1


def test_two_frames_back_to_back_are_two_reads(reader):
    factory, r, reads, _ = reader
    send_frame(factory, D0, D1, encode_frame(111, 26), interval_s=0.001)
    time.sleep(0.06)
    send_frame(factory, D0, D1, encode_frame(222, 26), interval_s=0.001)
    wait_until(lambda: len(reads) == 2, timeout=2)
    assert [c for c, _ in reads] == ["111", "222"]


def test_malformed_frames_are_counted_and_reported_never_raised(reader, caplog):
    factory, r, reads, errors = reader
    bad_parity = encode_frame(0x123456, 26)
    bad_parity[3] ^= 1
    send_frame(factory, D0, D1, bad_parity)
    wait_until(lambda: len(errors) == 1, timeout=2)
    send_frame(factory, D0, D1, [1, 0, 1, 1, 0, 0, 1, 0, 1, 1])  # a 10-bit fragment: a frame timed out
    wait_until(lambda: len(errors) == 2, timeout=2)
    send_frame(factory, D0, D1, [1] * 70, pulse_s=0, interval_s=0)  # noise on the lines
    wait_until(lambda: len(errors) == 3, timeout=3)
    # the reader still works after all that
    time.sleep(0.06)
    send_frame(factory, D0, D1, encode_frame(42, 26))
    wait_until(lambda: reads, timeout=2)
    assert reads == [("42", 26)]
    assert "parity" in errors[0] and "10-bit frame" in errors[1] and "pulses" in errors[2]
    assert r.counters["malformed"] == 3
    assert r.counters["parity"] == 1 and r.counters["length"] == 1 and r.counters["noise"] == 1
    assert "malformed frame" in caplog.text


def test_a_slow_frame_is_split_by_the_frame_timeout(reader):
    factory, r, reads, errors = reader
    frame = encode_frame(0x0F0F0F, 26)
    send_frame(factory, D0, D1, frame[:13], interval_s=0.001)
    time.sleep(0.1)  # the reader gave up: more than frame_gap_s of silence mid-frame
    send_frame(factory, D0, D1, frame[13:], interval_s=0.001)
    wait_until(lambda: len(errors) == 2, timeout=2)
    assert reads == []
    assert all("13-bit frame" in e for e in errors)


def test_a_26_bit_only_reader_closes_the_frame_without_waiting_for_the_gap():
    factory = MockFactory()
    reads = []
    with WiegandReader(D0, D1, frame_gap_s=1.0, formats=(26,), pin_factory=factory) as r:
        r.when_read = lambda card, bits: reads.append((card, time.monotonic()))
        last_bit = send_frame(factory, D0, D1, encode_frame(777, 26), interval_s=0.001)
        wait_until(lambda: reads, timeout=0.5)  # well before the 1 s gap
    assert reads[0][0] == "777" and reads[0][1] - last_bit < 0.5


def test_a_34_bit_frame_is_malformed_on_a_26_bit_only_reader():
    with pytest.raises(WiegandError, match="34-bit frame \\(expected 26\\)"):
        decode_frame(encode_frame(5, 34), (26,))
