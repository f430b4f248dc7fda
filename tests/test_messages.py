"""Nudges reach a silent participant in their own language, signed by their partner and saying
how to reach the coach; every partner has its template in French, Dutch and English."""

import json

import pytest
from pydantic import ValidationError

from trajectory.messages import (
    REQUIRED_LANGUAGES,
    PartnerTemplate,
    nudge_message,
    partner_template,
)
from trajectory.programme import Channel
from trajectory.programmes import PARTNER_IDS, load_programme


@pytest.mark.parametrize("partner_id", PARTNER_IDS)
def test_every_partner_speaks_french_dutch_english_and_its_own_languages(partner_id: str) -> None:
    template = partner_template(partner_id)
    languages = {*REQUIRED_LANGUAGES, *load_programme(partner_id).languages}
    for language in languages:
        for level in (1, 2):
            message = nudge_message(partner_id, language, level, Channel.EMAIL)
            assert message.language == language
            assert template.name in message.text
            assert template.reach[language] in message.text
            assert template.name in message.subject
    texts = {nudge_message(partner_id, lang, 1, Channel.EMAIL).text for lang in languages}
    assert len(texts) == len(languages), "two languages share a text"


def test_a_template_missing_a_language_is_refused() -> None:
    text = partner_template("jes").model_dump()
    del text["reach"]["nl"]
    with pytest.raises(ValidationError, match="no template in nl"):
        PartnerTemplate.model_validate_json(json.dumps(text))


def test_a_dutch_speaking_jes_participant_gets_a_dutch_first_nudge() -> None:
    message = nudge_message("jes", "nl", 1, Channel.WHATSAPP)
    assert message.text.startswith("Hallo! Het team van JES")
    assert "Zaterdagplein" in message.text
    assert message.subject == "Nieuws van JES"


def test_a_spanish_speaking_orientaeuro_participant_gets_a_spanish_nudge() -> None:
    message = nudge_message("orientaeuro", "es", 1, Channel.EMAIL)
    assert message.text.startswith("¡Hola! El equipo de OrientaEuro")


def test_the_second_nudge_is_more_insistent_than_the_first() -> None:
    first = nudge_message("inbrussel", "en", 1, Channel.EMAIL).text
    second = nudge_message("inbrussel", "en", 2, Channel.EMAIL).text
    assert first != second
    assert "as soon as you can" in second
    assert nudge_message("inbrussel", "en", 3, Channel.EMAIL).text == second


def test_an_sms_says_how_to_stop_them() -> None:
    assert nudge_message("groep-intro", "nl", 1, Channel.SMS).text.endswith(
        "STOP om geen sms meer te krijgen."
    )
    assert "STOP" not in nudge_message("groep-intro", "nl", 1, Channel.WHATSAPP).text


def test_a_participant_speaking_arabic_gets_the_french_text() -> None:
    assert nudge_message("art2work", "ar", 1, Channel.SMS) == nudge_message(
        "art2work", "fr", 1, Channel.SMS
    )


def test_a_regional_language_tag_uses_its_language() -> None:
    assert nudge_message("groep-intro", "nl-BE", 1, Channel.SMS).language == "nl"


def test_there_is_no_nudge_level_zero() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        nudge_message("jes", "fr", 0, Channel.SMS)
