\set VERBOSITY terse
\echo == the job schedule of the run of client 1001 (RECORD_WORK_UNITS writes an item and one entry per account)
SELECT js.job_schedule_id, js.status, (SELECT count(*) FROM backout.job_schedule_item i WHERE i.client_id = js.client_id AND i.job_schedule_id = js.job_schedule_id) AS items,
       (SELECT count(*) FROM backout.job_schedule_list l JOIN backout.job_schedule_item i USING (client_id, job_schedule_item_id)
         WHERE l.client_id = js.client_id AND i.job_schedule_id = js.job_schedule_id) AS entries
FROM backout.job_schedule js WHERE js.client_id = 1001 ORDER BY 1;
