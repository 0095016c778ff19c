-- A password check reserves its rows before it runs (count and insert in one
-- step, so concurrent guesses cannot all pass the check); a success then
-- deletes the rows of its reservation. Older rows have none.
ALTER TABLE failed_attempts ADD COLUMN reservation TEXT;
