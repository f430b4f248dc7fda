-- Nudge messages leave through the outbox only: the ladder's activity queues a row in its
-- transaction, and a sender delivers it afterwards, claiming rows for a while so that several
-- workers can drain together, and marking each one sent once its channel took it.

ALTER TABLE outbox
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN attempts      integer NOT NULL DEFAULT 0,
    ADD COLUMN sent_at       timestamptz;

CREATE INDEX outbox_unsent_idx ON outbox (created_at) WHERE sent_at IS NULL;
