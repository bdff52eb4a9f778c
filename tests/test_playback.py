"""The scheduler with a fake clock and a recording output: exact (time, message) lists."""

from __future__ import annotations

import threading

import mido
import numpy as np
import pytest

from composer.realtime.clock import FakeClock, MonotonicClock
from composer.realtime.playback import (
    Player,
    RecordingOutput,
    StepRenderer,
    note_off,
    note_on,
    sounding_after,
)
from composer.score import HOLD, REST, Score

H, R = HOLD, REST
STEP = 0.125  # seconds per 16th at 120 quarter notes per minute


def pc(channel: int, program: int) -> mido.Message:
    return mido.Message("program_change", channel=channel, program=program)


def test_renderer_turns_grid_semantics_into_messages():
    r = StepRenderer(channels=(0, 1))
    assert r.render([60, 48]) == [note_on(0, 60), note_on(1, 48)]
    assert r.render([H, H]) == []
    # a new pitch ends the previous note first; the same pitch again is re-struck
    assert r.render([62, 48]) == [note_off(0, 60), note_off(1, 48), note_on(0, 62), note_on(1, 48)]
    assert r.render([R, H]) == [note_off(0, 62)]
    assert r.render([H, H]) == []  # HOLD after a rest stays silent
    assert r.release() == [note_off(1, 48)]
    assert r.release() == []


def test_score_plays_with_its_tempo_and_programs_exactly():
    grid = [[72, 60], [H, H], [74, R], [H, 62]]
    score = Score(np.array(grid), tempo=120, voice_names=("S", "B"), programs=(52, 19))
    clock = FakeClock(10.0)
    out = RecordingOutput(clock)
    Player(score, out, clock=clock, lead_in=0.0).run()
    t0 = 10.0
    assert out.events == [
        (t0, pc(0, 52)),
        (t0, pc(1, 19)),
        (t0, note_on(0, 72)),
        (t0, note_on(1, 60)),
        (t0 + 2 * STEP, note_off(0, 72)),
        (t0 + 2 * STEP, note_off(1, 60)),
        (t0 + 2 * STEP, note_on(0, 74)),
        (t0 + 3 * STEP, note_on(1, 62)),
        (t0 + 4 * STEP, note_off(0, 74)),
        (t0 + 4 * STEP, note_off(1, 62)),
    ]
    assert out.sounding() == set()


def test_tempo_argument_overrides_and_lead_in_delays_the_first_onset():
    score = Score(np.array([[60], [62]]), tempo=120)
    clock = FakeClock()
    out = RecordingOutput(clock)
    Player(score, out, clock=clock, tempo=60, lead_in=0.5, programs=()).run()
    assert out.events == [
        (0.5, note_on(0, 60)),
        (0.75, note_off(0, 60)),
        (0.75, note_on(0, 62)),
        (1.0, note_off(0, 62)),
    ]


def endless(pitches=(60, 62, 64, 65)):
    """An endless step source: a four-voice chord every two steps."""
    k = 0
    while True:
        p = pitches[(k // 2) % len(pitches)]
        yield np.array([p + 12, p + 7, p, p - 12] if k % 2 == 0 else [H, H, H, H], np.int16)
        k += 1


def test_endless_source_stops_after_max_steps_with_every_note_off():
    clock = FakeClock()
    out = RecordingOutput(clock)
    player = Player(endless(), out, clock=clock, tempo=120, lead_in=0.0, max_steps=5)
    player.run()
    onsets = [t for t, m in out.events if m.type == "note_on"]
    assert onsets == [0.0] * 4 + [2 * STEP] * 4 + [4 * STEP] * 4
    last = out.events[-4:]
    assert [t for t, _ in last] == [5 * STEP] * 4
    assert {(m.channel, m.note) for _, m in last} == {(0, 76), (1, 71), (2, 64), (3, 52)}
    assert out.sounding() == set()
    assert player.steps_played == 5
    assert player.sounding == []


def test_source_error_sends_note_offs_then_reraises():
    def broken():
        yield np.array([60, 55, 48, 36])
        yield np.array([H, H, H, H])
        raise RuntimeError("sampler failed")

    clock = FakeClock()
    out = RecordingOutput(clock)
    player = Player(broken(), out, clock=clock, tempo=120, lead_in=0.0)
    with pytest.raises(RuntimeError, match="sampler failed"):
        player.run()
    assert isinstance(player.error, RuntimeError)
    ons = [m for _, m in out.events if m.type == "note_on"]
    offs = [m for _, m in out.events if m.type == "note_off"]
    assert len(ons) == 4 and len(offs) == 4
    assert out.sounding() == set()


def test_keyboard_interrupt_in_the_source_leaves_nothing_hanging():
    def interrupted():
        yield np.array([60, 55, 48, 36])
        raise KeyboardInterrupt

    clock = FakeClock()
    out = RecordingOutput(clock)
    with pytest.raises(KeyboardInterrupt):
        Player(interrupted(), out, clock=clock, tempo=120, lead_in=0.0).run()
    assert len(out.events) == 8
    assert out.sounding() == set()


def test_stop_from_the_playhead_callback_releases_sounding_notes_at_that_time():
    clock = FakeClock()
    out = RecordingOutput(clock)
    seen: list[int] = []

    def on_step(index, cells):
        seen.append(index)
        if index == 6:
            player.stop()

    player = Player(endless(), out, clock=clock, tempo=120, lead_in=0.0, on_step=on_step)
    player.run()
    assert seen == list(range(7))
    # the chord struck at step 6 is released at once, at step 6's time
    tail = out.events[-4:]
    assert all(m.type == "note_off" and t == 6 * STEP for t, m in tail)
    assert out.sounding() == set()


def test_each_step_is_generated_before_its_time_within_the_lookahead():
    clock = FakeClock()
    out = RecordingOutput(clock)
    generated_at: list[float] = []

    def source():
        for cells in endless():
            generated_at.append(clock.now())
            yield cells

    Player(source(), out, clock=clock, tempo=120, lead_in=0.05, max_steps=8,
           lookahead=0.3).run()  # fmt: skip
    onsets = [0.05 + k * STEP for k in range(8)]
    for k, (gen, onset) in enumerate(zip(generated_at, onsets, strict=False)):
        assert gen <= onset, k
        assert onset - gen <= 0.3 + STEP + 0.05, k


def test_clock_send_puts_start_six_clocks_per_step_and_stop_on_the_timeline():
    clock = FakeClock()
    out = RecordingOutput(clock)
    Player(endless(), out, clock=clock, tempo=120, lead_in=0.0, max_steps=4,
           send_clock=True).run()  # fmt: skip
    timing = [(t, m.type) for t, m in out.events if m.type in ("start", "clock", "stop")]
    assert timing[0] == (0.0, "start")
    clocks = [t for t, kind in timing if kind == "clock"]
    assert clocks == pytest.approx([k * STEP / 6 for k in range(24)])
    assert timing[-1] == (pytest.approx(4 * STEP), "stop")
    # a step's clock comes before its notes
    kinds = [m.type for _, m in out.events]
    assert kinds[:3] == ["start", "clock", "note_on"]


def test_stopping_a_clock_sending_player_sends_stop():
    clock = FakeClock()
    out = RecordingOutput(clock)

    def on_step(index, cells):
        if index == 2:
            player.stop()

    player = Player(endless(), out, clock=clock, tempo=120, lead_in=0.0, send_clock=True,
                    on_step=on_step)  # fmt: skip
    player.run()
    assert out.messages[-1].type == "stop"
    assert [m.type for m in out.messages].count("stop") == 1
    assert out.sounding() == set()


def test_set_tempo_changes_the_step_length_from_the_next_unscheduled_step():
    clock = FakeClock()
    out = RecordingOutput(clock)

    def on_step(index, cells):
        if index == 1:
            player.set_tempo(60)  # a step now lasts 0.25 s

    player = Player(endless(), out, clock=clock, tempo=120, lead_in=0.0, max_steps=5,
                    lookahead=0.0, on_step=on_step)  # fmt: skip
    player.run()
    onsets = sorted({t for t, m in out.events if m.type == "note_on"})
    # steps 0, 2, 4 strike chords; step 2 starts where 120 bpm put it, then 0.25 s per step
    assert onsets == pytest.approx([0.0, 0.25, 0.25 + 2 * 0.25])


def test_real_clock_thread_stop_leaves_no_note_on():
    out = RecordingOutput()
    player = Player(endless(), out, tempo=600, lead_in=0.0).start()
    assert not player.wait(0.2)  # endless: still playing
    player.stop()
    assert player.done
    assert player.error is None
    assert len(out.events) > 8
    assert out.sounding() == set()
    times = [t for t, _ in out.events]
    assert times == sorted(times)


def test_real_clock_waits_until_the_target():
    clock = MonotonicClock()
    stop = threading.Event()
    target = clock.now() + 0.02
    assert clock.wait_until(target, stop)
    assert clock.now() >= target
    stop.set()
    assert not clock.wait_until(clock.now() + 10, stop)


def test_sounding_after_counts_velocity_zero_as_off():
    msgs = [note_on(0, 60), note_on(1, 62), mido.Message("note_on", channel=0, note=60,
                                                          velocity=0)]  # fmt: skip
    assert sounding_after(msgs) == {(1, 62)}


class BarTiming:
    """A StepTiming for tests: 16ths of 0.1 s on bars of 1.6 s from time 0; ``stops`` lists the
    answers ``playing()`` gives in turn (then True), as a Link session stopped and started."""

    STEP, BAR = 0.1, 1.6

    def __init__(self, stops: list[bool]) -> None:
        self.stops = list(stops)
        self.first = (0, 0.0)
        self.begins: list[tuple[int, float]] = []

    def begin(self, now: float, step: int) -> float:
        bar_line = -(-now // self.BAR) * self.BAR
        self.first = (step, bar_line)
        self.begins.append(self.first)
        return bar_line

    def step_time(self, step: int) -> float:
        first_step, first_time = self.first
        return first_time + (step - first_step) * self.STEP

    def playing(self) -> bool:
        return self.stops.pop(0) if self.stops else True


def test_a_timing_that_stops_ends_every_note_and_resumes_on_its_next_bar_line():
    clock = FakeClock(0.3)
    out = RecordingOutput(clock)
    # playing for the first checks of the loop, then stopped once, then playing again
    timing = BarTiming([True] * 6 + [False])
    player = Player(endless(), out, clock=clock, lead_in=0.0, lookahead=0.0, max_steps=12,
                    tempo=120, timing=timing)  # fmt: skip
    player.run()
    first_bar, second_bar = timing.begins
    assert first_bar == (0, 1.6)  # the first step on the timing's next bar line
    ons = [t for t, m in out.events if m.type == "note_on"]
    assert ons[0] == pytest.approx(1.6)
    stop_at = max(t for t, m in out.events if m.type == "note_off" and t < second_bar[1])
    assert sounding_after(m for t, m in out.events if t <= stop_at) == set()  # all ended
    assert second_bar[1] == pytest.approx(3.2)  # resumed on the next bar line after the stop
    assert min(t for t in ons if t > stop_at) == pytest.approx(3.2)
    assert out.sounding() == set()
