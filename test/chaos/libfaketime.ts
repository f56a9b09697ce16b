// Debian's libfaketime, preloaded into a process whose wall clock a scenario moves at runtime:
// the offset is read from a file on every call, and the monotonic clock is left alone, as when
// NTP steps a host's clock.
import { existsSync, readdirSync } from 'node:fs';

/** The library's path, or an error saying what to install. */
export function libfaketime(): string {
  const dirs = ['/usr/lib/faketime', ...readdirSync('/usr/lib').map((d) => `/usr/lib/${d}/faketime`)];
  const found = dirs.map((d) => `${d}/libfaketime.so.1`).find((f) => existsSync(f));
  if (!found) throw new Error("this scenario needs Debian's faketime (libfaketime): apt-get install -y faketime");
  return found;
}

/** Environment that gives a process the wall clock `+0` / `+1h` / `-1h` … written in `file`. */
export function fakeClockEnv(file: string): Record<string, string> {
  return {
    LD_PRELOAD: libfaketime(),
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}
