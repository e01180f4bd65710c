-- reset_lines of accounts 1..1000 of client 1, submitted and waited for (bench/billrun.sql)
SELECT clock_timestamp() AS t0 \gset
SELECT backout.reset_lines(1, :'aids') ->> 'reset_batch_id' AS reset_id \gset
SELECT backout.wait_for_batch(:'reset_id', '10 minutes') AS reset_status \gset
INSERT INTO timings SELECT 'reset_lines (submit to COMPLETED)', :pass, pg_temp.took(:'t0'),
       (SELECT lines_reset FROM backout.reset_batch WHERE client_id = 1 AND reset_batch_id = :'reset_id');
SELECT :'reset_status' AS reset_status, lines_reset, accounts_reset FROM backout.reset_batch WHERE client_id = 1 AND reset_batch_id = :'reset_id';
