// A run's output, followed live: an EventSource on GET /v1/runs/{id}/logs?follow=1 receives
// `log` events (one chunk each, id "<attempt>:<seq>") until an `end` event says the run ended.
// The server resumes from a `cursor` query parameter (not the Last-Event-ID header), so on a
// broken connection this reconnects by hand from the last chunk it got.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { LogChunk } from '../../api/types.js';

// Enough to read what a run printed in a browser; the API reads all of it, page by page.
const MAX_CHUNKS = 5000;
const RECONNECT_MS = 2000;

/** `live` says the run has not ended: a stream that ended is opened again when a retry revives the run. */
export function LogView(props: { runId: string; live: boolean }) {
  const [chunks, setChunks] = useState<LogChunk[]>([]);
  const [dropped, setDropped] = useState(0);
  const [status, setStatus] = useState<'connecting' | 'following' | 'ended' | 'retrying'>('connecting');
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (props.live && status === 'ended') setGeneration((g) => g + 1);
  }, [props.live, status]);

  useEffect(() => {
    let source: EventSource | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cursor: string | undefined;
    let pending: LogChunk[] = [];
    let frame = 0;
    let ended = false;
    setChunks([]);
    setDropped(0);
    setStatus('connecting');
    // Chunks can arrive by the thousand: render once per frame, not once per chunk.
    const flush = () => {
      frame = 0;
      const batch = pending;
      pending = [];
      setChunks((old) => {
        const all = old.concat(batch);
        if (all.length <= MAX_CHUNKS) return all;
        setDropped((d) => d + all.length - MAX_CHUNKS);
        return all.slice(all.length - MAX_CHUNKS);
      });
    };
    const open = () => {
      const url = `/v1/runs/${encodeURIComponent(props.runId)}/logs?follow=1${cursor ? `&cursor=${cursor}` : ''}`;
      source = new EventSource(url);
      // The stream's headers come with its first event, so a quiet run stays "waiting" until it prints.
      source.onopen = () => setStatus('following');
      source.addEventListener('log', (e) => {
        const ev = e as MessageEvent<string>;
        if (ev.lastEventId) cursor = ev.lastEventId;
        pending.push(JSON.parse(ev.data) as LogChunk);
        if (!frame) frame = requestAnimationFrame(flush);
      });
      source.addEventListener('end', (e) => {
        const { state } = JSON.parse((e as MessageEvent<string>).data) as { state: string | null };
        source?.close();
        // A null state means the coordinator is stopping, not that the run ended.
        if (state === null) return retry();
        ended = true;
        setStatus('ended');
      });
      // Both a failed connection and the server's own `error` event land here.
      source.onerror = () => {
        source?.close();
        if (!ended) retry();
      };
    };
    const retry = () => {
      setStatus('retrying');
      clearTimeout(timer);
      timer = setTimeout(open, RECONNECT_MS);
    };
    open();
    return () => {
      ended = true;
      source?.close();
      clearTimeout(timer);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [props.runId, generation]);

  // Follow the tail unless the reader scrolled up to read something.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [chunks]);

  let lastAttempt = 0;
  return (
    <div class="panel">
      <h2>
        Output{' '}
        <span class={`log-status log-${status}`} data-log-status={status}>
          {status === 'following'
            ? '● live'
            : status === 'ended'
              ? 'complete'
              : status === 'retrying'
                ? 'reconnecting…'
                : 'waiting for output…'}
        </span>
      </h2>
      {dropped > 0 && <p class="muted small">{dropped.toLocaleString()} earlier chunks are not shown here; read them from the API.</p>}
      <pre
        class="log"
        ref={box}
        aria-label="run output"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {chunks.length === 0 && <span class="muted">{status === 'ended' ? 'The run printed nothing.' : 'No output yet.'}</span>}
        {chunks.map((c) => {
          const marker = c.attempt !== lastAttempt;
          lastAttempt = c.attempt;
          return (
            <span key={`${c.attempt}:${c.seq}`}>
              {marker && (
                <span class="log-attempt">
                  ── attempt {c.attempt} ──{'\n'}
                </span>
              )}
              <span class={c.stream === 'stderr' ? 'stderr' : undefined}>{c.data}</span>
            </span>
          );
        })}
      </pre>
    </div>
  );
}
