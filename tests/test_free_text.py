"""The free-text fields of a milestone payload: each is sealed with the person's data key."""

from readmodel.free_text import TEXT_FIELDS


def test_every_free_text_field_of_a_payload_is_sealed_and_no_code_is() -> None:
    assert {"coach_ref", "contract", "employer", "qualification", "reason", "sector"} == TEXT_FIELDS
