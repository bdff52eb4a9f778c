"""The events the sampler conditions on: phrases that close at fermatas, endings on the tonic."""

import numpy as np

from composer.encoding import TOK_HOLD, TOK_REST, sounding
from composer.score import Key
from composer.theory.cadence import closes_phrase, ending_rank, triad_root

H = TOK_HOLD
C = Key.parse("C major")
A_MINOR = Key.parse("A minor")


def tokens(*chords: tuple[int, int, int, int], hold: int = 3) -> np.ndarray:
    """Each chord struck, then held for ``hold`` steps."""
    rows = []
    for chord in chords:
        rows.append(list(chord))
        rows += [[H] * 4] * hold
    return np.array(rows, np.int64).reshape(-1)


G7, C_MAJ, F_MAJ, A_MIN = (71, 65, 62, 55), (72, 67, 64, 48), (72, 69, 65, 53), (72, 64, 57, 45)


def test_sounding_resolves_holds_and_rests():
    toks = np.array([60, 55, 52, 48, H, H, TOK_REST, H, 62, H, H, 43], np.int64)
    assert sounding(toks, 3).tolist() == [[60, 55, 52, 48], [60, 55, -1, 48], [62, 55, -1, 43]]


def test_sounding_of_a_batch_is_sounding_of_each():
    from composer.encoding import sounding_batch

    rng = np.random.default_rng(0)
    batch = rng.choice([48, 50, 52, 60, 67, H, H, TOK_REST], size=(5, 40)).astype(np.int64)
    batch[:, :4] = 60  # every voice struck at first
    pitches, struck = sounding_batch(batch, 9)
    for b in range(5):
        assert np.array_equal(pitches[b], sounding(batch[b], 9))
        assert np.array_equal(struck[b], batch[b, :36].reshape(9, 4) != H)


def test_triad_root_wants_a_root_position_triad_with_its_third():
    assert triad_root(np.array(C_MAJ)) == 0
    assert triad_root(np.array((72, 67, 60, 52))) == -1  # first inversion
    assert triad_root(np.array((72, 67, 60, 48))) == -1  # open fifth: no third
    assert triad_root(np.array(G7)) == -1  # a seventh chord
    assert triad_root(np.array((72, 67, 63, 48))) == 0  # C minor


def test_authentic_plagal_and_half_cadences_close_a_phrase_others_do_not():
    def closes(*chords, key=C):
        toks = tokens(*chords)
        f = (len(chords) - 1) * 4
        return closes_phrase(sounding(toks, f + 1), f, key)

    assert closes(C_MAJ, G7, C_MAJ)  # V7-I
    assert closes(C_MAJ, (71, 67, 62, 59), C_MAJ)  # V6-I: the leading tone in the bass
    assert closes(C_MAJ, F_MAJ, C_MAJ)  # IV-I
    assert closes(C_MAJ, F_MAJ, (71, 67, 62, 55))  # a half cadence on V
    assert closes(A_MIN, (68, 64, 59, 52), A_MIN, key=A_MINOR)  # V-i in A minor
    assert not closes(C_MAJ, G7, A_MIN)  # deceptive
    assert not closes(C_MAJ, A_MIN, C_MAJ)  # vi-I
    assert not closes(C_MAJ, G7, (72, 67, 64, 55))  # I 6/4


def rank(toks: np.ndarray, key: Key) -> int:
    return ending_rank(sounding(toks, len(toks) // 4), key)


def test_an_ending_ranks_by_its_final_chord_and_how_it_is_reached():
    assert rank(tokens(F_MAJ, G7, C_MAJ), C) == 4  # perfect authentic: V7-I, soprano on C
    assert rank(tokens(F_MAJ, G7, (76, 67, 60, 48)), C) == 3  # the soprano ends on E
    assert rank(tokens(F_MAJ, (71, 67, 62, 59), C_MAJ), C) == 3  # V6-I
    assert rank(tokens(G7, F_MAJ, C_MAJ), C) == 2  # plagal
    assert rank(tokens(F_MAJ, A_MIN, C_MAJ), C) == 1
    assert rank(tokens(F_MAJ, C_MAJ, G7), C) == 0
    picardy = (73, 69, 64, 45)  # A major at the end of an A minor piece
    assert rank(tokens(A_MIN, (68, 64, 59, 52), picardy), A_MINOR) == 3  # soprano on C#
    e7 = (74, 68, 59, 52)
    assert rank(tokens(A_MIN, e7, (69, 64, 61, 45)), A_MINOR) == 4  # Picardy, soprano on A
    assert rank(tokens(A_MIN, e7, (69, 64, 60, 45)), A_MINOR) == 3  # minor: no Picardy third
    assert rank(tokens(C_MAJ, G7, (72, 63, 67, 48)), C) == 0  # C minor ends a C major one
