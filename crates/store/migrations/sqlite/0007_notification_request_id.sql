-- The HTTP request that caused a notification, named when it is delivered.
ALTER TABLE notifications ADD COLUMN request_id TEXT;
