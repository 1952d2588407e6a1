-- e-OPD: the signed OPD card of a booking, issued through the documents
-- register on first view (jti) and kept so that every view shows one card.
ALTER TABLE opd_bookings ADD COLUMN card_jti TEXT REFERENCES documents(id);
ALTER TABLE opd_bookings ADD COLUMN card_token TEXT;
