-- The booking list (`GET /bookings`, newest work date first, 50 at a time) reads this index
-- backwards and stops after one page, instead of sorting every booking per request.
CREATE INDEX bookings_date_id ON bookings(work_date, id);
