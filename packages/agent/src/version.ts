// The agent's own version, read from its package.json (works from src/ under tests and from dist/).
import { readFileSync } from 'node:fs';

/** The version of @drover/agent, advertised as capability `drover.version`. */
export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
