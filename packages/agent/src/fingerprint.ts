// Fingerprint: the facts an agent advertises as capabilities, flattened into attributes
// that job constraints match (`cpu.cores >= 4`, `gpu.model = "NVIDIA A100"`, `label.pool = gpu`).
//
// All facts are probed once, at start-up; none is re-probed periodically. They describe
// hardware and the OS, which do not change while the agent runs; restart the agent after
// changing labels or hardware. Live usage (load, memory in use) travels in heartbeats instead.
import os from 'node:os';
import si from 'systeminformation';
import type { Attributes } from '@drover/shared';
import { AGENT_VERSION } from './version.js';

/** How long the GPU probe (lspci, nvidia-smi…) may take before the agent starts without GPU facts. */
const GPU_PROBE_TIMEOUT_MS = 3_000;

/**
 * Display controllers that are not compute GPUs: server BMCs and hypervisor framebuffers.
 * Counting them would make `gpu.count >= 1` match every rack server and VM.
 */
const DISPLAY_ONLY_VENDORS = /aspeed|matrox|vmware|cirrus|qemu|red hat|virtio|bochs|hyper-v|microsoft|parallels|virtualbox|innotek/i;

export interface GpuFacts {
  count: number;
  model?: string;
}

async function probeGpus(timeoutMs: number): Promise<GpuFacts> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
    timer.unref();
  });
  try {
    const graphics = await Promise.race([si.graphics().catch(() => null), timeout]);
    if (!graphics) return { count: 0 };
    const gpus = graphics.controllers.filter((c) => !DISPLAY_ONLY_VENDORS.test(`${c.vendor} ${c.model}`));
    const first = gpus[0];
    const model = first ? [first.vendor, first.model].filter(Boolean).join(' ').trim() || first.name : undefined;
    return model ? { count: gpus.length, model } : { count: gpus.length };
  } finally {
    clearTimeout(timer);
  }
}

async function probeCpuModel(): Promise<string> {
  try {
    const cpu = await si.cpu();
    const model = [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim();
    if (model) return model;
  } catch {
    // fall through to what Node itself reports
  }
  return os.cpus()[0]?.model.trim() ?? 'unknown';
}

/** What the fingerprint reports; `labels` become `label.<key>` attributes. */
export interface FingerprintInput {
  labels: Record<string, string>;
  gpuProbeTimeoutMs?: number;
}

/** Probes the host once and returns its flattened capability attributes. */
export async function fingerprint(input: FingerprintInput): Promise<Attributes> {
  const [cpuModel, gpus] = await Promise.all([probeCpuModel(), probeGpus(input.gpuProbeTimeoutMs ?? GPU_PROBE_TIMEOUT_MS)]);
  const attributes: Record<string, string | number> = {
    'cpu.cores': os.availableParallelism(),
    'cpu.model': cpuModel,
    'memory.bytes': os.totalmem(),
    os: os.platform(),
    'os.release': os.release(),
    arch: os.arch(),
    'gpu.count': gpus.count,
    hostname: os.hostname(),
    'drover.version': AGENT_VERSION,
  };
  if (gpus.model !== undefined) attributes['gpu.model'] = gpus.model;
  for (const [key, value] of Object.entries(input.labels)) attributes[`label.${key}`] = value;
  return attributes;
}
