"""Side-by-side highlighting of a copy and its source: plain-text segments, never markup."""

from frontend.highlight import MAX_WORDS, Segment, side_by_side


def test_shared_words_are_marked_on_both_sides_in_order():
    pair = side_by_side(
        "BREAKING the Treasury warned it could run out!!", "The Treasury warned that it could run out."
    )
    assert pair.copy == [
        Segment("BREAKING ", False),
        Segment("the Treasury warned it could run out!!", True),
    ]
    assert pair.source == [
        Segment("The Treasury warned ", True),
        Segment("that ", False),
        Segment("it could run out.", True),
    ]
    assert pair.shared_words == 7 / 8


def test_the_text_is_kept_exactly_as_written_whitespace_included():
    copy, source = "  one\ttwo\n\nthree ", "one two three"
    pair = side_by_side(copy, source)
    assert "".join(s.text for s in pair.copy) == copy
    assert "".join(s.text for s in pair.source) == source


def test_markup_in_the_text_stays_text_for_the_template_to_escape():
    pair = side_by_side("<script>alert(1)</script> hello", "hello")
    assert pair.copy[0] == Segment("<script>alert(1)</script> ", False)
    assert all(type(s.text) is str for s in pair.copy)


def test_empty_and_huge_texts_are_shown_without_highlighting():
    assert side_by_side("", "source").copy == []
    big = "word " * (MAX_WORDS + 1)
    pair = side_by_side(big, big)
    assert pair.copy == [Segment(big, False)]
    assert pair.shared_words == 0.0
