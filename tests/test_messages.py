"""Nudges reach a silent participant in their own language, or in French."""

import pytest

from trajectory.messages import SUPPORTED_MESSAGE_LANGUAGES, message_language, nudge_message


def test_the_four_programme_languages_have_their_own_texts() -> None:
    assert set(SUPPORTED_MESSAGE_LANGUAGES) == {"fr", "nl", "en", "es"}
    texts = {nudge_message(lang, 1, "JES") for lang in SUPPORTED_MESSAGE_LANGUAGES}
    assert len(texts) == 4


def test_a_dutch_speaking_jes_participant_gets_a_dutch_first_nudge() -> None:
    text = nudge_message("nl", 1, "JES")
    assert "JES" in text
    assert text.startswith("Hallo")


def test_a_spanish_speaking_orientaeuro_participant_gets_a_spanish_nudge() -> None:
    assert "OrientaEuro" in nudge_message("es", 1, "OrientaEuro")
    assert nudge_message("es", 1, "OrientaEuro").startswith("¡Hola")


def test_the_second_nudge_is_more_insistent_than_the_first() -> None:
    for language in SUPPORTED_MESSAGE_LANGUAGES:
        assert nudge_message(language, 1, "InBrussel") != nudge_message(language, 2, "InBrussel")
    assert "coach" in nudge_message("en", 2, "InBrussel")


def test_a_participant_speaking_arabic_gets_the_french_text() -> None:
    assert message_language("ar") == "fr"
    assert nudge_message("ar", 1, "ART2WORK") == nudge_message("fr", 1, "ART2WORK")
    assert nudge_message("ar", 2, "ART2WORK") == nudge_message("fr", 2, "ART2WORK")


def test_a_regional_language_tag_uses_its_language() -> None:
    assert nudge_message("nl-BE", 1, "Groep INTRO") == nudge_message("nl", 1, "Groep INTRO")
    assert nudge_message("EN_gb", 2, "Groep INTRO") == nudge_message("en", 2, "Groep INTRO")


def test_later_message_rungs_reuse_the_insistent_text() -> None:
    assert nudge_message("fr", 3, "Backstage") == nudge_message("fr", 2, "Backstage")


def test_there_is_no_nudge_level_zero() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        nudge_message("fr", 0, "JES")


def test_a_partner_name_with_braces_is_shown_as_is() -> None:
    assert "{x}" in nudge_message("en", 1, "{x}")
