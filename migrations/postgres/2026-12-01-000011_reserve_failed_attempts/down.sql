ALTER TABLE failed_attempts DROP COLUMN reservation;
