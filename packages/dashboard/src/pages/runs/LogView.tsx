// A run's output, followed live over GET /v1/runs/{id}/logs?follow=1 (lib/log-stream.ts) until
// the run ends, drawn line by line (lib/log-lines.ts): colours as the job meant them, or raw
// with every escape as a visible token; each line's time, a stream filter, a search, and a
// download of the bytes as printed. Nothing the job printed is ever read as HTML.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { authHeaders, token } from '../../api/auth.js';
import { describeError, failure, isForbidden, url } from '../../api/http.js';
import type { LogChunk } from '../../api/types.js';
import { clock } from '../../lib/format.js';
import { followLog, type FollowStatus } from '../../lib/log-stream.js';
import { toLines, type LogLine, type Piece } from '../../lib/log-lines.js';

// Enough to read what a run printed in a browser; the API reads all of it, page by page.
const MAX_CHUNKS = 5000;

type Streams = 'both' | 'stdout' | 'stderr';

function pieceStyle(p: Piece): Record<string, string> | undefined {
  if (!p.fg && !p.bg) return undefined;
  return { ...(p.fg ? { color: `rgb(${p.fg})` } : {}), ...(p.bg ? { backgroundColor: `rgb(${p.bg})` } : {}) };
}

/** One piece: text (coloured when the job asked), or a token for a control character or stray byte. */
function PieceView(props: { piece: Piece }) {
  const p = props.piece;
  if (p.control)
    return (
      <span class="ctl" title={p.control} data-control={p.control}>
        {p.text}
      </span>
    );
  if (!p.fg && !p.bg && !p.decorations) return <>{p.text}</>;
  return (
    <span class={`ansi${(p.decorations ?? []).map((d) => ` ansi-${d}`).join('')}`} style={pieceStyle(p)} data-fg={p.fg} data-bg={p.bg}>
      {p.text}
    </span>
  );
}

function Line(props: { line: LogLine; times: boolean; marker: boolean }) {
  const { line } = props;
  return (
    <>
      {props.marker && (
        <span class="log-attempt">
          ── attempt {line.attempt} ──{'\n'}
        </span>
      )}
      <span class={`log-line${line.stream === 'stderr' ? ' stderr' : ''}`} data-stream={line.stream}>
        {props.times && (
          <span class="log-time" title={line.at}>
            {clock(line.at)}{' '}
          </span>
        )}
        {line.pieces.map((p, i) => (
          <PieceView key={i} piece={p} />
        ))}
        {'\n'}
      </span>
    </>
  );
}

/** Saves the output's bytes as printed (GET …/logs?format=raw), with the signed-in token. */
async function download(runId: string): Promise<void> {
  const sent = token();
  const res = await fetch(url('/v1/runs/{id}/logs', { path: { id: runId }, query: { format: 'raw' } }), {
    headers: { accept: 'application/octet-stream', ...authHeaders(sent) },
  });
  if (!res.ok) throw failure(res, await res.json().catch(() => undefined), 'the download', sent);
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = `run-${runId}.log`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
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

  const [raw, setRaw] = useState(false);
  const [times, setTimes] = useState(false);
  const [streams, setStreams] = useState<Streams>('both');
  const [search, setSearch] = useState('');
  const [downloadError, setDownloadError] = useState<string | undefined>(undefined);
  const lines = useMemo(() => toLines(chunks, raw), [chunks, raw]);
  const needle = search.trim().toLowerCase();
  const shown = lines.filter((l) => (streams === 'both' || l.stream === streams) && (!needle || l.text.toLowerCase().includes(needle)));
  const filtered = shown.length !== lines.length;

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
      <div class="filters log-tools">
        <label>
          <input type="checkbox" name="raw" checked={raw} onChange={(e) => setRaw(e.currentTarget.checked)} /> raw (escapes as tokens)
        </label>
        <label>
          <input type="checkbox" name="times" checked={times} onChange={(e) => setTimes(e.currentTarget.checked)} /> times
        </label>
        <label>
          Stream
          <select name="stream" value={streams} onChange={(e) => setStreams(e.currentTarget.value as Streams)}>
            <option value="both">stdout and stderr</option>
            <option value="stdout">stdout</option>
            <option value="stderr">stderr</option>
          </select>
        </label>
        <label>
          Search
          <input
            type="search"
            name="search"
            value={search}
            placeholder="text in a line"
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
        {filtered && (
          <span class="muted small" data-log-shown={shown.length}>
            {shown.length.toLocaleString()} of {lines.length.toLocaleString()} lines
          </span>
        )}
        <button
          type="button"
          onClick={() => {
            setDownloadError(undefined);
            download(props.runId).catch((err: unknown) => setDownloadError(describeError(err)));
          }}
        >
          Download
        </button>
        {downloadError && (
          <span class="action-error" role="alert">
            {downloadError}
          </span>
        )}
      </div>
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
        {chunks.length > 0 && shown.length === 0 && <span class="muted">No line matches.</span>}
        {shown.map((l, i) => {
          const marker = l.attempt !== lastAttempt;
          lastAttempt = l.attempt;
          return <Line key={i} line={l} times={times} marker={marker} />;
        })}
      </pre>
    </div>
  );
}
