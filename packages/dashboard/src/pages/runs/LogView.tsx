// A run's output, followed live over GET /v1/runs/{id}/logs?follow=1 (lib/log-stream.ts) until
// the run ends. Control characters in it are drawn as visible tokens, never interpreted.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { byteEscape, chunkBytes, utf8Pieces } from '@drover/client/log-bytes';
import { describeError, isForbidden } from '../../api/http.js';
import type { LogChunk } from '../../api/types.js';
import { splitControls } from '../../lib/controls.js';
import { followLog, type FollowStatus } from '../../lib/log-stream.js';

// Enough to read what a run printed in a browser; the API reads all of it, page by page.
const MAX_CHUNKS = 5000;

/** A piece of a chunk: text, a control character, or a byte that is not UTF-8. */
type Piece = string | { picture: string; name: string };

/** A chunk's pieces: output that is not UTF-8 (sent as base64) is split into its text and its other bytes. */
function pieces(chunk: LogChunk): Piece[] {
  if (chunk.encoding !== 'base64') return splitControls(chunk.data);
  return utf8Pieces(chunkBytes(chunk)).flatMap((p): Piece[] =>
    typeof p === 'string' ? splitControls(p) : [{ picture: byteEscape(p), name: `byte 0x${p.toString(16).padStart(2, '0')} (not UTF-8)` }],
  );
}

/** A chunk's text with each control character or stray byte as a visible, inert token (␛[31m, <U+202E>, \xff). */
function Output(props: { chunk: LogChunk }) {
  return (
    <>
      {pieces(props.chunk).map((part, i) =>
        typeof part === 'string' ? (
          part
        ) : (
          <span key={i} class="ctl" title={part.name} data-control={part.name}>
            {part.picture}
          </span>
        ),
      )}
    </>
  );
}

/** `live` says the run has not ended: a stream that ended is opened again when a retry revives the run. */
export function LogView(props: { runId: string; live: boolean }) {
  const [chunks, setChunks] = useState<LogChunk[]>([]);
  const [dropped, setDropped] = useState(0);
  const [status, setStatus] = useState<FollowStatus | 'refused'>('connecting');
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (props.live && status === 'ended') setGeneration((g) => g + 1);
  }, [props.live, status]);

  useEffect(() => {
    const stop = new AbortController();
    let pending: LogChunk[] = [];
    let frame = 0;
    setChunks([]);
    setDropped(0);
    setStatus('connecting');
    setRefusal(undefined);
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
    void followLog(
      props.runId,
      {
        chunk: (c) => {
          pending.push(c);
          if (!frame) frame = requestAnimationFrame(flush);
        },
        status: (s) => {
          if (!stop.signal.aborted) setStatus(s);
        },
        refused: (err) => {
          if (stop.signal.aborted) return;
          setStatus('refused');
          setRefusal(isForbidden(err) ? `${describeError(err)} ${err.message}` : describeError(err));
        },
      },
      stop.signal,
    );
    return () => {
      stop.abort();
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
                : status === 'refused'
                  ? 'not available'
                  : 'waiting for output…'}
        </span>
      </h2>
      {refusal && (
        <p class="error" role="alert">
          {refusal}
        </p>
      )}
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
              <span class={c.stream === 'stderr' ? 'stderr' : undefined}>
                <Output chunk={c} />
              </span>
            </span>
          );
        })}
      </pre>
    </div>
  );
}
