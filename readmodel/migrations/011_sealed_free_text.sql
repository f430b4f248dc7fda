-- Free text written about a participant (case managers' reasons, coaches' task notes, the texts
-- of milestone payloads: employer, contract, qualification, coach reference, reasons) is sealed
-- with the participant's data key, so erasing the person shreds it too (readmodel/free_text.py).
-- What the programme counts stays in clear: the names of the payload's text fields given, whether
-- a training ended with a qualification, a steering change's cause without the reason. Rows
-- written in clear before this migration, or by an older release during a rolling deploy, are
-- sealed by the worker at its start; the partial indexes find them without reading every row.

ALTER TABLE milestones
    ADD COLUMN sealed_payload bytea,
    ADD COLUMN sealed_fields text[] NOT NULL DEFAULT '{}';

ALTER TABLE steering_actions ADD COLUMN reason_sealed bytea;
ALTER TABLE tasks ADD COLUMN note_sealed bytea;
ALTER TABLE phase_transitions ADD COLUMN cause_sealed bytea;

-- The report counts qualifications; the words stay in the sealed milestone alone.
ALTER TABLE seat_requests ADD COLUMN qualified boolean;
UPDATE seat_requests SET qualified = true, qualification = NULL WHERE qualification IS NOT NULL;

CREATE INDEX milestones_clear_text_idx ON milestones (participant_id)
    WHERE payload ?| ARRAY['coach_ref', 'contract', 'employer', 'qualification', 'reason', 'sector'];
CREATE INDEX steering_actions_clear_text_idx ON steering_actions (participant_id)
    WHERE reason IS NOT NULL;
CREATE INDEX tasks_clear_text_idx ON tasks (participant_id) WHERE note IS NOT NULL;
CREATE INDEX phase_transitions_clear_text_idx ON phase_transitions (participant_id)
    WHERE cause LIKE 'paused: %' OR cause LIKE 'resumed: %'
       OR cause LIKE 'closed by case manager: %' OR cause LIKE 'reassigned from %: %';
CREATE INDEX seat_requests_clear_text_idx ON seat_requests (participant_id)
    WHERE qualification IS NOT NULL;
