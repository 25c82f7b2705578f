-- wrk script: POST /tasks/schedule with an ALTS payload and a bearer token (env ALTS_BENCH_TOKEN).
-- Used for alts-scheduler and for its FastAPI peer alike (bench/scheduler_vs_fastapi.sh).
-- errors counts non-2xx/3xx answers and socket errors; the scripts also count the rows stored.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ALTS_BENCH_TOKEN")
wrk.body = '{"runner_type":"docker","dist_name":"almalinux","dist_version":"9","dist_arch":"x86_64",' ..
           '"repositories":[{"name":"base","url":"https://repo.example.org/9/"}],' ..
           '"package_name":"bash","package_version":"5.1.8-6.el9","bs_task_id":1}'

done = function(summary, latency, requests)
  io.write(string.format("requests/s %.1f  p50 %.2f ms  p99 %.2f ms  errors %d  requests %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
