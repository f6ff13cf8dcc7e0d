/**
 * Resident memory of another process, from Linux's `/proc/<pid>/status`: its RSS now (`VmRSS`) and its
 * peak (`VmHWM`). The peak counts from process start, which for a worker includes bundling the workflows;
 * writing 5 to `/proc/<pid>/clear_refs` resets it, so a peak can cover one sync only. Polling `VmRSS`
 * as well covers kernels or containers where that reset is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface MemoryStatus {
  rssKiB: number;
  peakKiB: number;
}

export function memoryStatus(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** Resets the process's peak to its RSS now; false when the kernel refuses (the poll still covers it). */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface MemoryWindow {
  /** RSS when the window opened. */
  startKiB: number;
  /** The highest RSS seen: the polled samples and, when the reset worked, the kernel's own peak. */
  peakKiB: number;
  /** RSS when the window closed. */
  endKiB: number;
  samples: number;
  /** Whether the peak includes the kernel's `VmHWM` (exact) or only the polled samples (can miss spikes shorter than the interval). */
  kernelPeak: boolean;
}

/** Watch `pid` from now until `stop()`: reset its peak, poll its RSS every `intervalMs`. */
export function watchMemory(pid: number, intervalMs = 100): { stop(): MemoryWindow } {
  const kernelPeak = resetPeak(pid);
  const start = memoryStatus(pid);
  let peakKiB = start.rssKiB;
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peakKiB = Math.max(peakKiB, memoryStatus(pid).rssKiB);
      samples++;
    } catch {
      // The process is gone; the caller finds out from its own wait.
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const end = memoryStatus(pid);
      return {
        startKiB: start.rssKiB,
        peakKiB: Math.max(peakKiB, end.rssKiB, kernelPeak ? end.peakKiB : 0),
        endKiB: end.rssKiB,
        samples: samples + 1,
        kernelPeak,
      };
    },
  };
}
