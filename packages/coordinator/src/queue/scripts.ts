// Every multi-key Redis change is one Lua script, named for what it does.
// Key layout (all under the configured prefix):
//   ready:<jobId>    ZSET  a job's queued runs, member = run id (a ULID), score = queue order:
//                          (100 - priority) * 2^41 + the run's creation ms since 2020, so
//                          ZPOPMIN yields the highest priority first, then the oldest
//   ready:heads      ZSET  jobs with queued runs, scored by their head run's score: the
//                          dispatcher reads the best jobs first, a page at a time
//   leader           STRING node id of the coordinator holding the dispatcher lease
//   leader:epoch     STRING counter bumped on each new lease (fencing for the leader's writes)

// After a job's queue changed: score the job by its new head, or forget it when empty.
const RESCORE_HEAD = `
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #head == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], head[2], ARGV[1]) end
`;

/**
 * enqueueRuns — adds runs of one job to its ready queue.
 * KEYS[1] = ready:heads, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2..] = score, member, score, member, …
 * Returns the queue's length afterwards.
 */
export const ENQUEUE_RUNS = `
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[2], 'NX', ARGV[i], ARGV[i + 1])
end
${RESCORE_HEAD}
return redis.call('ZCARD', KEYS[2])
`;

/**
 * claimRuns — takes up to N runs from the head of one job's queue.
 * KEYS[1] = ready:heads, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2] = N
 * Returns the claimed run ids in queue order.
 */
export const CLAIM_RUNS = `
local popped = redis.call('ZPOPMIN', KEYS[2], tonumber(ARGV[2]))
${RESCORE_HEAD}
local ids = {}
for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
return ids
`;

/**
 * readyJobs — a page of the jobs with queued runs, best head first, with depth and head.
 * KEYS[1] = ready:heads; ARGV[1] = key prefix (queues are <prefix>ready:<jobId>),
 * ARGV[2] = offset, ARGV[3] = page size
 * Returns: how many entries the page read, then jobId, depth, head run id, head score, …
 * An entry whose queue is gone (deleted outside these scripts) is dropped.
 */
export const READY_JOBS = `
local out = {0}
local stale = {}
local page = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1)
out[1] = #page
for _, jobId in ipairs(page) do
  local key = ARGV[1] .. 'ready:' .. jobId
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #head > 0 then
    out[#out + 1] = jobId
    out[#out + 1] = redis.call('ZCARD', key)
    out[#out + 1] = head[1]
    out[#out + 1] = head[2]
  else
    stale[#stale + 1] = jobId
  end
end
if #stale > 0 then redis.call('ZREM', KEYS[1], unpack(stale)) end
return out
`;

/**
 * depthByPriority — queued runs per priority, over a page of the jobs with queued runs.
 * KEYS[1] = ready:heads; ARGV[1] = key prefix, ARGV[2] = offset, ARGV[3] = page size,
 * ARGV[4] = the width of one priority band in score units (2^41; see queueScore)
 * Returns: how many jobs the page read, then band, count, band, count, … where band =
 * 100 - priority. Read-only. Each job costs one ZCOUNT and one ZRANGEBYSCORE per priority
 * it holds (it jumps from band to band), never a walk over its runs.
 */
export const DEPTH_BY_PRIORITY = `
local step = tonumber(ARGV[4])
local counts = {}
local page = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1)
for _, jobId in ipairs(page) do
  local key = ARGV[1] .. 'ready:' .. jobId
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  while #head > 0 do
    local band = math.floor(tonumber(head[2]) / step)
    -- '%.0f': tostring would print large scores in scientific notation and lose digits.
    local upper = string.format('%.0f', (band + 1) * step)
    counts[band] = (counts[band] or 0) + redis.call('ZCOUNT', key, string.format('%.0f', band * step), '(' .. upper)
    head = redis.call('ZRANGEBYSCORE', key, upper, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
end
local out = {#page}
for band, n in pairs(counts) do
  out[#out + 1] = band
  out[#out + 1] = n
end
return out
`;

/**
 * removeRuns — takes given runs out of a job's queue (cancelled, deleted job).
 * KEYS[1] = ready:heads, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2..] = run ids
 * Returns how many were removed.
 */
export const REMOVE_RUNS = `
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZREM', KEYS[2], ARGV[i]) end
${RESCORE_HEAD}
return n
`;

/**
 * evictRuns — takes runs the reconciler found not queued in PostgreSQL out of a job's queue,
 * saying which were still there (a run claimed meanwhile is not, and is left to its claimer).
 * KEYS[1] = ready:heads, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2..] = run ids
 * Returns the run ids removed, so the caller can look at exactly those again in PostgreSQL and
 * put back any queued anew in between (see dispatch/queue-repair.ts).
 */
export const EVICT_RUNS = `
local gone = {}
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then gone[#gone + 1] = ARGV[i] end
end
${RESCORE_HEAD}
return gone
`;

/**
 * acquireLease — takes or renews the dispatcher lease.
 * KEYS[1] = leader, KEYS[2] = leader:epoch
 * ARGV[1] = node id, ARGV[2] = ttl ms
 * Returns the epoch while this node holds the lease (a new epoch when just taken), or 0.
 */
export const ACQUIRE_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('INCR', KEYS[2])
`;

/**
 * releaseLease — gives the lease up if this node holds it.
 * KEYS[1] = leader; ARGV[1] = node id. Returns 1 when released.
 */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
