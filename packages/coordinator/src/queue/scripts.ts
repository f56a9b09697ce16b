// Every multi-key Redis change is one Lua script, named for what it does.
// Key layout (all under the configured prefix):
//   ready:jobs       SET   ids of jobs that have queued runs
//   ready:<jobId>    ZSET  a job's queued runs: score = -priority, member = run id (a ULID),
//                          so ZPOPMIN yields the highest priority first, then the oldest
//   leader           STRING node id of the coordinator holding the dispatcher lease
//   leader:epoch     STRING counter bumped on each new lease (fencing for the leader's writes)

/**
 * enqueueRuns — adds runs of one job to its ready queue.
 * KEYS[1] = ready:jobs, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2..] = score, member, score, member, …
 * Returns the queue's length afterwards.
 */
export const ENQUEUE_RUNS = `
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[2], 'NX', ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[1], ARGV[1])
return redis.call('ZCARD', KEYS[2])
`;

/**
 * claimRuns — takes up to N runs from the head of one job's queue.
 * KEYS[1] = ready:jobs, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2] = N
 * Returns the claimed run ids in queue order; forgets the job when its queue is empty.
 */
export const CLAIM_RUNS = `
local popped = redis.call('ZPOPMIN', KEYS[2], tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[1], ARGV[1]) end
local ids = {}
for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
return ids
`;

/**
 * readyJobs — every job with queued runs, with its depth and head run, in one round trip.
 * KEYS[1] = ready:jobs; ARGV[1] = key prefix (queues are <prefix>ready:<jobId>)
 * Returns a flat list: jobId, depth, head run id, head score, … (empty queues are forgotten).
 */
export const READY_JOBS = `
local out = {}
for _, jobId in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'ready:' .. jobId
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #head == 0 then
    redis.call('SREM', KEYS[1], jobId)
  else
    out[#out + 1] = jobId
    out[#out + 1] = redis.call('ZCARD', key)
    out[#out + 1] = head[1]
    out[#out + 1] = head[2]
  end
end
return out
`;

/**
 * removeRuns — takes given runs out of a job's queue (cancelled, deleted job).
 * KEYS[1] = ready:jobs, KEYS[2] = ready:<jobId>
 * ARGV[1] = jobId, ARGV[2..] = run ids
 * Returns how many were removed.
 */
export const REMOVE_RUNS = `
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZREM', KEYS[2], ARGV[i]) end
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[1], ARGV[1]) end
return n
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
