"""Encodings: SATB tokens and JSB frames round-trip losslessly; conditioning; transpositions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.encoding import (
    TOK_END,
    TOK_HOLD,
    TOK_REST,
    allowed_transpositions,
    decode_frames,
    decode_satb,
    encode_frames,
    encode_satb,
    frame_mask,
)
from composer.score import HOLD, REST, Key, Score

cells = st.one_of(st.integers(36, 84), st.just(HOLD), st.just(REST))


@st.composite
def scores(draw):
    steps = draw(st.integers(1, 64))
    grid = np.array(
        draw(st.lists(st.lists(cells, min_size=4, max_size=4), min_size=steps, max_size=steps)),
        dtype=np.int16,
    )
    # a HOLD needs a note before it: turn orphans into rests
    for v in range(4):
        sounding = False
        for t in range(steps):
            if grid[t, v] == HOLD and not sounding:
                grid[t, v] = REST
            sounding = grid[t, v] != REST
    ts = draw(st.sampled_from([(4, 4), (3, 4), (2, 2)]))
    pickup = draw(st.integers(0, 4))
    fermatas = tuple(sorted(set(draw(st.lists(st.integers(0, steps - 1), max_size=3)))))
    key = draw(
        st.one_of(
            st.none(), st.builds(Key, st.integers(0, 11), st.sampled_from(["major", "minor"]))
        )
    )
    return Score(grid, time_signature=ts, pickup=pickup, fermatas=fermatas, key=key).validate()


@settings(max_examples=200, deadline=None)
@given(scores())
def test_satb_round_trip(score):
    enc = encode_satb(score)
    assert len(enc) == score.steps * 4
    assert decode_satb(enc.tokens, score) == score
    assert enc.slot[:4].tolist() == [0, 1, 2, 3]
    assert enc.inputs()[1:].tolist() == enc.tokens[:-1].tolist()
    grid_tokens = enc.tokens.reshape(-1, 4)
    assert ((grid_tokens == TOK_HOLD) == (score.grid == HOLD)).all()
    assert ((grid_tokens == TOK_REST) == (score.grid == REST)).all()
    assert (enc.fermata.reshape(-1, 4)[:, 0] == score.fermata_mask()).all()
    assert (enc.key == (score.key.index if score.key else 24)).all()


frames_st = st.lists(
    st.lists(st.integers(43, 96), max_size=4, unique=True), min_size=1, max_size=40
)


@settings(max_examples=200, deadline=None)
@given(frames_st)
def test_frames_round_trip(frames):
    enc, ctx = encode_frames(frames)
    assert decode_frames(enc.tokens) == [sorted(f, reverse=True) for f in frames]
    assert len(enc) == sum(len(f) + 1 for f in frames)
    # every token is allowed by the frame mask given the one before it in its frame
    prev = -1
    for tok, slot in zip(enc.tokens, enc.slot):
        if slot == 0:
            prev = -1
        assert frame_mask(prev)[tok]
        prev = tok if tok != TOK_END else -1
    # the context of a frame's tokens is the previous frame
    assert (ctx[: len(frames[0]) + 1] == -1).all()


def test_allowed_transpositions_keep_voices_in_range():
    g = np.array([[79, 72, 60, 48]] * 4, dtype=np.int16)  # soprano near the top of its range
    shifts = allowed_transpositions(Score(g))
    assert 0 in shifts
    assert max(shifts) == 4  # G5 + 4 = B5 = A5 + 2 (the margin)
    assert min(shifts) == -6


def test_steps_to_fermata_counts_down_to_each_fermata_onset():
    from composer.encoding import FERMATA_NONE, steps_to_fermata

    mask = np.zeros(80, dtype=bool)
    mask[10:14] = True
    mask[78:] = True
    d = steps_to_fermata(mask)
    assert list(d[:11]) == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert list(d[10:14]) == [0, 0, 0, 0]
    assert d[14] == 64 and d[77] == 1 and d[78] == 0  # 64 steps or more share one value
    assert steps_to_fermata(np.zeros(5, bool)).tolist() == [FERMATA_NONE] * 5


def test_steps_to_end_is_exact_near_the_end_and_banded_before():
    from composer.encoding import END_UNKNOWN, steps_to_end

    d = steps_to_end(300)
    assert d[-1] == 0 and d[-64] == 63 and d[-65] == 64 and d[-80] == 64 and d[-81] == 65
    assert d[-192] == 71 and d[0] == END_UNKNOWN
    assert np.all(np.diff(d) <= 0)
    assert steps_to_end(10, known=False).tolist() == [END_UNKNOWN] * 10


def test_a_score_encodes_where_its_phrases_and_the_piece_end():
    grid = np.full((32, 4), HOLD, np.int16)
    grid[0] = grid[16] = [72, 67, 64, 48]
    score = Score(grid, fermatas=(16,))
    enc = encode_satb(score)
    assert enc.to_fermata.reshape(-1, 4)[:, 0].tolist()[:17] == [*range(16, 0, -1), 0]
    assert enc.to_end.reshape(-1, 4)[-1].tolist() == [0, 0, 0, 0]
