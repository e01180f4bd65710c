-- One round (:pass) of plans_size.sql: the reference client's (:ref_client) billing and undo in
-- plans_reference, then client :c's in plans_sizes.  Ends connected to plans_sizes.
\set size_client :c
\c plans_reference
\ir plans_session.sql
\set c :ref_client
\ir plans_bill_once.sql
SELECT :bill_ms AS ref_bill_p:pass, :undo_ms AS ref_undo_p:pass,
       :bill_blocks AS ref_bill_blocks, :undo_blocks AS ref_undo_blocks \gset
\set c :size_client
\c plans_sizes
\ir plans_session.sql
\ir plans_bill_once.sql
