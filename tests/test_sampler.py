"""Every way of composing, on the shipped model: what is given is kept, seeds reproduce."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from composer.errors import GenerationError
from composer.runtime.sampler import Sampler
from composer.runtime.settings import SamplingSettings
from composer.score import HOLD, REST, SATB, VOICE_RANGES, Key, Score
from composer.theory.plan import estimate_key, fit_melody, plan_fermatas


@pytest.fixture(scope="module")
def sampler():
    return Sampler.load()


def in_ranges(score: Score) -> bool:
    for v, name in enumerate(SATB):
        lo, hi = VOICE_RANGES[name]
        pitches = score.grid[:, v][score.grid[:, v] >= 0]
        if len(pitches) and (pitches.min() < lo or pitches.max() > hi):
            return False
    return True


@pytest.mark.parametrize("ts", [(4, 4), (3, 4)])
def test_generate(sampler, ts):
    s = SamplingSettings(seed=3)
    [a] = sampler.generate(
        bars=8, key=Key.parse("D minor"), time_signature=ts, tempo=80, settings=s
    )
    [b] = sampler.generate(
        bars=8, key=Key.parse("D minor"), time_signature=ts, tempo=80, settings=s
    )
    assert a == b  # same seed, same notes
    assert a.steps == 8 * ts[0] * 4 and a.time_signature == ts and a.tempo == 80
    assert a.key == Key.parse("D minor") and a.meta["seed"] == "3"
    assert in_ranges(a)
    assert a.fermatas and a.fermatas[-1] > a.steps - 16  # the last chord has a fermata
    assert (a.grid[0] >= 0).all()  # every voice starts with a note
    [c] = sampler.generate(
        bars=8, key="D minor", time_signature=ts, settings=SamplingSettings(seed=4)
    )
    assert not np.array_equal(a.grid, c.grid)


@pytest.mark.parametrize("k", [4, 5, 16])
def test_variations_are_distinct_and_reproducible(sampler, k):
    s = SamplingSettings(seed=11)
    many = sampler.generate(bars=4, settings=s, variations=k)
    again = sampler.generate(bars=4, settings=s, variations=k)
    assert len(many) == k and many == again
    assert len({m.grid.tobytes() for m in many}) == k
    assert [m.meta["variation"] for m in many] == [str(i + 1) for i in range(k)]


def test_two_thread_groups_compute_what_one_batch_computes(sampler, monkeypatch):
    import composer.runtime.sampler as sampler_module

    s = SamplingSettings(seed=5)
    threaded = sampler.generate(bars=4, settings=s, variations=20)
    monkeypatch.setattr(sampler_module, "THREADS", 1)
    single = sampler.generate(bars=4, settings=s, variations=20)
    assert threaded == single


def test_constraints_no_crossing_and_in_key(sampler):
    key = Key.parse("G major")
    s = SamplingSettings(seed=5, no_crossing=True, in_key=True, temperature=1.3)
    [p] = sampler.generate(bars=8, key=key, settings=s)
    pitch = p.pitch_grid()
    for v in range(1, 4):
        both = (pitch[:, v] >= 0) & (pitch[:, v - 1] >= 0)
        assert (pitch[both, v] <= pitch[both, v - 1]).all()
    notes = [n.pitch % 12 for n in p.notes()]
    assert set(notes) <= key.scale()


def test_voice_leading_rules(sampler):
    from composer.reports.metrics import aggregate

    strict = SamplingSettings(seed=8, no_parallels=True, close_spacing=True, temperature=1.2)
    pieces = sampler.generate(bars=8, key="A minor", settings=strict, variations=4)
    m = aggregate(pieces)
    assert m.pair_moves > 100
    assert m.parallel_fifths == 0 and m.parallel_octaves == 0 and m.wide_spacings == 0


def test_continue_keeps_the_primer(sampler):
    [primer] = sampler.generate(bars=4, settings=SamplingSettings(seed=1))
    [out] = sampler.continue_(primer, bars=4, settings=SamplingSettings(seed=2))
    assert out.steps == primer.steps + 4 * 16
    assert np.array_equal(out.grid[: primer.steps], primer.grid)


def melody_score(sampler) -> Score:
    [piece] = sampler.generate(bars=8, key="F major", settings=SamplingSettings(seed=9))
    return Score(piece.grid[:, :1].copy(), key=None, pickup=piece.pickup, tempo=70)


def test_harmonize_keeps_the_melody_and_sees_ahead(sampler):
    melody = melody_score(sampler)
    s = SamplingSettings(seed=4)
    [h] = sampler.harmonize(melody, settings=s)
    assert h.voices == 4 and np.array_equal(h.grid[:, 0], melody.grid[:, 0])
    assert h == sampler.harmonize(melody, settings=s)[0]
    assert in_ranges(h) and h.key is not None


def test_harmonize_moves_a_low_melody_up_an_octave_and_refuses_a_wide_one(sampler):
    melody = melody_score(sampler)
    low = Score(np.where(melody.grid >= 0, melody.grid - 12, melody.grid), pickup=melody.pickup)
    [h] = sampler.harmonize(low, settings=SamplingSettings(seed=1))
    assert np.array_equal(h.grid[:, 0], melody.grid[:, 0])
    assert "octave" in h.meta["warning"]
    wide = np.array([[40], [HOLD], [90], [HOLD]], np.int16)
    with pytest.raises(GenerationError, match="spans"):
        fit_melody(wide[:, 0])


def test_regenerate_keeps_everything_outside(sampler):
    [piece] = sampler.generate(bars=8, settings=SamplingSettings(seed=21))
    start, end = piece.bar_start(5), piece.bar_start(7)
    [out] = sampler.regenerate(
        piece, steps=(start, end), voices=[1, 2], settings=SamplingSettings(seed=22)
    )
    assert np.array_equal(out.grid[:, [0, 3]], piece.grid[:, [0, 3]])
    assert np.array_equal(out.grid[:start], piece.grid[:start])
    # after the region the same pitches sound (a note held across the end is restruck)
    assert np.array_equal(out.pitch_grid()[end:], piece.pitch_grid()[end:])
    assert not np.array_equal(out.grid[start:end, 1:3], piece.grid[start:end, 1:3])
    with pytest.raises(GenerationError):
        sampler.regenerate(piece, steps=(10, 5), voices=[1])


def test_stream_is_endless_and_reproducible(sampler):
    a = sampler.stream(key="C major", settings=SamplingSettings(seed=2))
    b = sampler.stream(key="C major", settings=SamplingSettings(seed=2))
    steps_a = [next(a) for _ in range(300)]
    steps_b = [next(b) for _ in range(300)]
    assert all(np.array_equal(x, y) for x, y in zip(steps_a, steps_b))
    grid = np.array(steps_a)
    assert grid.shape == (300, 4) and grid.dtype == np.int16
    assert Score(grid).validate() is not None
    assert a.position == 300


def test_live_harmonizer_answers_each_note(sampler):
    h = sampler.harmonizer(key="C major", settings=SamplingSettings(seed=1, no_crossing=True))
    for pitch in (72, 74, 76, 77, 79):
        alto, tenor, bass = h.chord(pitch)
        assert pitch >= alto >= 0 and alto >= tenor and bass >= 0
        h.hold(3)
    with pytest.raises(GenerationError):
        h.chord(200)


def test_bad_settings_are_refused(sampler):
    with pytest.raises(GenerationError):
        sampler.generate(bars=0)
    with pytest.raises(GenerationError):
        sampler.generate(bars=4, time_signature=(5, 7))
    with pytest.raises(GenerationError):
        sampler.generate(bars=4, variations=0)


def test_plan_fermatas_follow_the_corpus():
    mask = plan_fermatas(16 * 8, (4, 4), 4)
    onsets = [i for i in range(len(mask)) if mask[i] and (i == 0 or not mask[i - 1])]
    assert onsets[:3] == [28, 60, 92] and mask[-1]


def test_estimate_key():
    c_major = Score(
        np.array(
            [[60, 64, 67, 72]] * 4
            + [[62, 65, 69, 74]] * 2
            + [[67, 71, 74, 79]] * 2
            + [[60, 64, 67, 72]] * 4,
            np.int16,
        )
    )
    assert estimate_key(c_major) == Key(0, "major")


def test_generation_never_imports_torch_or_qt():
    code = (
        "import sys; from composer.runtime.sampler import Sampler; "
        "import composer.realtime.playback, composer.realtime.live, composer.realtime.ports, "
        "composer.audio.synth, composer.midi.io; "
        "Sampler.load().generate(bars=2); "
        "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_harmonize_with_particles_keeps_the_melody_and_reads_the_whole_of_it(sampler):
    melody = melody_score(sampler)
    s = SamplingSettings(seed=5, particles=16)
    many = sampler.harmonize(melody, settings=s, variations=3)
    assert many == sampler.harmonize(melody, settings=s, variations=3)
    for h in many:
        assert np.array_equal(h.grid[:, 0], melody.grid[:, 0]) and in_ranges(h)
    first = melody.steps // 4  # each variation has its own filter: they differ from the start
    assert len({h.grid[:first].tobytes() for h in many}) == 3
    # a different last phrase changes the chords before it: the particles look ahead (without
    # the cadence conditions, whose resampling at the first fermatas can leave one ancestor)
    s = SamplingSettings(seed=5, particles=16, tonic_ending=False)
    half = melody.steps // 2
    changed = melody.grid.copy()
    changed[half:, 0] = np.where(changed[half:, 0] >= 0, changed[half:, 0] + 2, changed[half:, 0])
    other = Score(changed, pickup=melody.pickup, key=Key.parse("F major"), tempo=70)
    differs = []
    for seed in (5, 6, 7):  # resampling may keep one ancestor for the first half by chance
        s = SamplingSettings(seed=seed, particles=16, tonic_ending=False)
        [a] = sampler.harmonize(melody, key=Key.parse("F major"), settings=s)
        [b] = sampler.harmonize(other, key=Key.parse("F major"), settings=s)
        differs.append(not np.array_equal(a.grid[:half, 1:], b.grid[:half, 1:]))
    assert any(differs)
    with pytest.raises(GenerationError, match="particles"):
        sampler.harmonize(melody, settings=SamplingSettings(particles=-1))


def test_particles_estimate_the_likelihood_of_what_is_fixed(sampler):
    """With every token fixed, all particles agree, and the estimate is the exact likelihood:
    the sum of the model's log-probabilities of the tokens (torch, teacher-forced)."""
    torch = pytest.importorskip("torch")
    from composer.encoding import encode_satb
    from composer.runtime.plans import Plan
    from composer.train.bundle_writer import model_from_bundle
    from composer.train.dataset import satb_example
    from composer.train.evaluate import token_nlls

    [piece] = sampler.generate(bars=4, key="G major", settings=SamplingSettings(seed=6))
    enc = encode_satb(piece)
    plan = Plan(piece.steps, piece.time_signature, piece.pickup, piece.key,
                piece.fermata_mask(), enc.tokens.astype(np.int64), lookahead=False)  # fmt: skip
    settings = SamplingSettings.voice_leading("free", top_p=1.0)
    tokens, log_p = sampler.sample(plan, settings, 2, seed=0, particles=8)
    assert (tokens == enc.tokens).all()
    with torch.inference_mode():
        [nll] = token_nlls(model_from_bundle(sampler.bundle), [satb_example(piece, None, "free")])
    assert log_p == pytest.approx(-nll.sum(), rel=1e-5)


def test_a_state_takes_and_joins_sequences_along_their_own_axes():
    """SamplerState.take / concat: the LSTM's h and c run over sequences on axis 1, the rest on
    axis 0; taking an index twice copies that sequence, random stream included."""
    from composer.runtime.state import SamplerState

    one = SamplerState.start(layers=2, hidden=3, batch=2, seed=5)
    one.h[:, 1] = 7.0
    one.sounding[1] = 60
    other = SamplerState.start(layers=2, hidden=3, batch=1, seed=6)
    both = SamplerState.concat([one, other])
    assert both.batch == 3 and both.h.shape == (2, 3, 3) and both.sounding.shape == (3, 4)
    taken = both.take([1, 1, 2])
    assert (taken.h[:, :2] == 7.0).all() and (taken.h[:, 2] == 0.0).all()
    assert taken.sounding[:2, 0].tolist() == [60, 60] and taken.sounding[2, 0] == -1
    assert taken.rng.tolist() == [one.rng[1], one.rng[1], other.rng[0]]
    taken.h[:] = 1.0  # new arrays
    assert (one.h[:, 0] == 0.0).all()


def test_resampling_copies_whole_particles_by_weight():
    from composer.runtime.particles import resample
    from composer.runtime.state import SamplerState

    groups = [(0, 8), (8, 16)]
    states = []
    for b0, b1 in groups:
        ids = np.arange(b0, b1)
        states.append(SamplerState(
            prev=ids.copy(), h=np.tile(ids, (2, 3, 1)).transpose(0, 2, 1).astype(np.float32),
            c=-np.tile(ids, (2, 3, 1)).transpose(0, 2, 1).astype(np.float32),
            rng=ids.astype(np.uint64),
            sounding=np.repeat(ids[:, None], 4, 1), before=np.repeat(ids[:, None], 4, 1),
        ))  # fmt: skip
    out = np.arange(16)[:, None] * np.ones((1, 5), np.int64)
    even = np.zeros(16)
    assert resample(states, groups, out, even, np.random.default_rng(0), 16) == 0.0  # even: kept
    assert (out[:, 0] == np.arange(16)).all()
    log_weight = np.full(16, -50.0)
    log_weight[11] = 0.0
    added = resample(states, groups, out, log_weight, np.random.default_rng(0), 16)
    assert added == pytest.approx(np.log(np.mean(np.exp(np.r_[np.full(15, -50.0), 0.0]))))
    assert (out == 11).all() and (log_weight == 0).all()
    for (b0, b1), s in zip(groups, states):
        assert (s.prev == 11).all() and (s.sounding == 11).all()
        assert (s.h == 11).all() and (s.c == -11).all() and (s.before == 11).all()
        assert (s.rng == np.arange(b0, b1)).all()  # each copy goes its own way
    # two filters of 8: only the uneven one is resampled, within itself
    out[:, 0] = np.arange(16)
    log_weight = np.zeros(16)
    log_weight[8:] = -50.0
    log_weight[13] = 0.0
    resample(states, groups, out, log_weight, np.random.default_rng(0), 8)
    assert (out[:8, 0] == np.arange(8)).all() and (out[8:, 0] == 13).all()


@pytest.mark.parametrize("variations", [1, 16])
def test_progress_rises_to_one_and_cancel_stops_every_thread(sampler, variations):
    """16 variations run as two groups on two threads: progress still rises to 1, and cancelling
    stops both groups and leaves no thread behind."""
    import threading

    seen = []
    sampler.generate(bars=4, variations=variations, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 2
    before = threading.active_count()
    seen.clear()  # cancel once the first part is done
    with pytest.raises(GenerationError, match="cancelled"):
        sampler.generate(bars=8, variations=variations, cancel=lambda: len(seen) > 0,
                         progress=seen.append)  # fmt: skip
    assert threading.active_count() == before
    assert 0 < seen[-1] < 1


def test_chords_prepared_ahead_are_the_chords_computed_at_once(sampler):
    """prepare() works out every likely chord ahead; the notes are the same as without it."""
    melody = [72, 71, 69, 67, 69, 71, 72, 74, 76, 74, 72, 71, 50, 72]

    def play(prepare: bool):
        h = sampler.harmonizer(key="C major", settings=SamplingSettings(seed=7))
        chords = []
        for k, note in enumerate(melody):
            if prepare:
                assert h.prepare()
            chords.append(h.chord(note))
            h.hold(3)
            if k % 5 == 4:
                h.rest(2)
        return h, chords

    at_once, chords = play(False)
    ahead, prepared = play(True)
    assert prepared == chords
    assert ahead.answered_ahead == len(melody) - 1  # 50 is outside the notes prepared
    assert at_once.answered_ahead == 0
    for f in dataclasses.fields(at_once.stream.state):
        a = getattr(at_once.stream.state, f.name)
        assert (getattr(ahead.stream.state, f.name) == a).all(), f.name
    h = sampler.harmonizer(settings=SamplingSettings(seed=7))
    assert h.prepare()
    h.hold(1)  # the state moved on: what was prepared no longer applies
    h.chord(72)
    assert h.answered_ahead == 0


def test_a_melody_breathes_where_its_phrases_end_and_its_last_note_gets_a_fermata():
    from composer.theory.plan import melody_fermatas

    H, R = HOLD, REST
    # a hymn tune in G with a quarter pickup: D | G A B G | A (half) G (quarter)
    tune = [62, H, H, H, 67, H, H, H, 69, H, H, H, 71, H, H, H, 67, H, H, H]
    tune += [69, H, H, H, H, H, H, H, 67, H, H, H]
    mask = melody_fermatas(np.array(tune), (4, 4), 4)
    assert np.flatnonzero(mask).tolist() == [28, 29, 30, 31]  # the final G, not the bar's A
    # a half note on a beat, and a note before a rest, end phrases; a file's own marks win
    tune2 = [67, H, H, H] * 4 + [69, H, H, H, H, H, H, H] + [67, H, H, H] * 5
    tune2 += [65, H, H, H, R, R, R, R] + [64, H, H, H] * 4 + [60, H, H, H, H, H, H, H]
    mask2 = melody_fermatas(np.array(tune2), (4, 4), 0)
    starts = [t for t in range(len(tune2)) if mask2[t] and (t == 0 or not mask2[t - 1])]
    assert starts == [16, 44, len(tune2) - 8]
    marked = melody_fermatas(np.array(tune2), (4, 4), 0, onsets=(36,))
    assert [t for t in range(len(tune2)) if marked[t] and not marked[t - 1]] == [36, len(tune2) - 8]


def test_the_chosen_candidate_has_the_best_ending_among_them(sampler):
    """Conditioning on the ending picks, among the very candidates one pass would write, one with
    the best ending (a batch samples the same notes as its sequences alone)."""
    from composer.encoding import sounding
    from composer.runtime.particles import Conditions
    from composer.runtime.plans import Plan
    from composer.theory.cadence import ending_rank

    key = Key.parse("D minor")
    steps = 64
    plan = Plan(steps, (4, 4), 4, key, plan_fermatas(steps, (4, 4), 4),
                np.full(steps * 4, -1, np.int64), lookahead=False)  # fmt: skip
    settings = SamplingSettings(seed=11)
    for seed in (11, 12):
        every, _ = sampler.sample(plan, settings, 16, seed, particles=1)  # 16 lone candidates
        ranks = [ending_rank(sounding(x, steps), key) for x in every]
        [chosen], _ = sampler.sample(plan, settings, 1, seed, particles=16,
                                     conditions=Conditions(key, True, ()))  # fmt: skip
        assert any(np.array_equal(chosen, x) for x in every)
        assert ending_rank(sounding(chosen, steps), key) == max(ranks)


def test_a_cadence_condition_weighs_the_candidates_that_miss_it(sampler):
    from composer.encoding import sounding
    from composer.runtime.particles import CADENCE_PENALTY, Conditions, weigh
    from composer.theory.cadence import closes_phrase

    key = Key.parse("C major")
    steps = 32
    plan = Plan_(steps, key)
    every, _ = sampler.sample(plan, SamplingSettings(seed=3), 16, 3, particles=1)
    weight = np.zeros(16)
    weigh(every, weight, 0, steps, Conditions(key, False, (16,)))
    closes = np.array([closes_phrase(sounding(x, 17), 16, key) for x in every])
    assert np.array_equal(weight, np.where(closes, 0.0, -CADENCE_PENALTY))


def test_the_beat_before_the_last_chord_is_weighed_for_its_dominant():
    """A beat before the last chord, candidates without the key's dominant lose
    CADENCE_PENALTY, so the filter resamples towards those that can close V-I."""
    from composer.runtime.particles import CADENCE_PENALTY, Conditions, weigh

    c, g7, f, bare_g = (72, 67, 64, 48), (71, 65, 62, 55), (72, 69, 65, 53), (67, 62, 55, 43)

    def piece(*chords):  # four 16th steps of each chord, struck on every step
        return np.array([p for ch in chords for _ in range(4) for p in ch], np.int64)

    out = np.stack([piece(c, g7, c), piece(c, f, c), piece(c, (71, 67, 62, 59), c),
                    piece(c, bare_g, c)])  # fmt: skip
    conditions = Conditions(Key.parse("C major"), True, (), final=8)
    weight = np.zeros(len(out))
    weigh(out, weight, 0, 4, conditions)
    assert (weight == 0).all()  # nothing weighed before that beat
    weigh(out, weight, 4, 8, conditions)
    # V7 and V6 are dominants; IV is not, nor a bare fifth on G (no leading tone)
    assert weight.tolist() == [0.0, -CADENCE_PENALTY, 0.0, -CADENCE_PENALTY]


def Plan_(steps: int, key: Key):  # noqa: N802 - a Plan for the tests
    from composer.runtime.plans import Plan

    return Plan(steps, (4, 4), 0, key, plan_fermatas(steps, (4, 4), 0),
                np.full(steps * 4, -1, np.int64), lookahead=False)  # fmt: skip


def test_a_teachers_faults_weigh_the_candidates(sampler):
    from composer.encoding import TOK_HOLD, sounding, sounding_batch
    from composer.runtime.particles import Conditions, weigh
    from composer.theory.counterpoint import FAULT_PENALTY, beat_steps, faults
    from composer.theory.passing import PASSING_REWARD, passing_balance

    key = Key.parse("C major")
    steps = 32
    plan = Plan_(steps, key)
    every, _ = sampler.sample(plan, SamplingSettings(seed=5, temperature=1.2), 16, 5, particles=1)
    beats = beat_steps(steps, (4, 4), 0)
    weight = np.zeros(16)
    weigh(every, weight, 8, 24, Conditions(key, False, (), beats=beats))
    found = [faults(sounding(x, 24), x[: 24 * 4].reshape(-1, 4) != TOK_HOLD, 8, 24, beats, key)
             for x in every]  # fmt: skip
    pitches, struck = sounding_batch(every, 24)
    passing = passing_balance(pitches, struck, 8, 24, beats)
    assert np.allclose(weight, -FAULT_PENALTY * np.array(found, float) + PASSING_REWARD * passing)
    assert any(found) and passing.any()  # the test sees faults and passing notes to weigh


def test_free_voice_leading_weighs_no_faults():
    assert SamplingSettings.voice_leading("free").counterpoint is False
    assert SamplingSettings.voice_leading("bach").counterpoint is True
    assert SamplingSettings.voice_leading("bach", counterpoint=False).counterpoint is False


def test_the_first_chord_is_weighed_for_the_tonic_on_its_root():
    from composer.runtime.particles import CADENCE_PENALTY, Conditions, weigh

    c, c6, g, a_min = (72, 67, 64, 48), (72, 67, 60, 52), (71, 67, 62, 55), (72, 69, 64, 57)
    out = np.array([[p for _ in range(4) for p in ch] for ch in (c, c6, g, a_min)], np.int64)
    conditions = Conditions(Key.parse("C major"), True, (), opening=True)
    weight = np.zeros(len(out))
    weigh(out, weight, 0, 4, conditions)
    assert weight.tolist() == [0.0, -CADENCE_PENALTY, -CADENCE_PENALTY, -CADENCE_PENALTY]
    weigh(out, weight, 4, 4, conditions)  # weighed once, in the first chunk only
    assert weight.tolist() == [0.0, -CADENCE_PENALTY, -CADENCE_PENALTY, -CADENCE_PENALTY]
    minor = Conditions(Key.parse("A minor"), True, (), opening=True)
    weight = np.zeros(len(out))
    weigh(out, weight, 0, 4, minor)
    assert weight.tolist() == [-CADENCE_PENALTY] * 3 + [0.0]
