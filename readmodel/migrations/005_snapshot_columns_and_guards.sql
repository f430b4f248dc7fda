-- The trajectories table holds every field of the workflow's snapshot (the list answered null for
-- the waiting-list place and the seat offer), and follow-up rows carry the revision that wrote
-- them, so a late or repeated write never overwrites a newer answer.

ALTER TABLE trajectories
    ADD COLUMN waiting_position   integer CHECK (waiting_position >= 1),
    ADD COLUMN seat_offered_until timestamptz;

ALTER TABLE follow_up_checks ADD COLUMN revision bigint NOT NULL DEFAULT 0;
