-- The message table in the shape applications already use, so one that exists is adopted as is.
-- The seed's extra index on message_id is left out: the UNIQUE constraint already indexes it.
CREATE TABLE IF NOT EXISTS sms_logs (
  id SERIAL PRIMARY KEY,
  message_id VARCHAR(100) UNIQUE NOT NULL,
  recipient VARCHAR(20) NOT NULL,
  message TEXT,
  status VARCHAR(20) DEFAULT 'pending',
  error_code VARCHAR(50),
  sent_at TIMESTAMP DEFAULT NOW(),
  delivered_at TIMESTAMP,
  updated_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_sms_logs_status ON sms_logs(status);
