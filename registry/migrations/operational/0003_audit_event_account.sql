-- The last account event of each account, looked up at every sign-in to compare the account's row with
-- the state the audit trail carries (registry.audit.account_matches_chain).
CREATE INDEX audit_event_account ON audit_event (json_extract(detail, '$.account.user_key'), seq)
WHERE json_extract(detail, '$.account.user_key') IS NOT NULL;
