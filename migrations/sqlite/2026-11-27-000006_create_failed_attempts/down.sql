DROP TABLE failed_attempts;
