import { cpus, loadavg, totalmem } from 'node:os';

/** What the figures were measured on: they only mean something next to this. */
export interface MachineInfo {
  cpus: number;
  model: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  /** 1, 5 and 15 minute load averages when the run started and ended (`uptime`). */
  loadAtStart: number[];
  loadAtEnd?: number[];
  /** The load averages as each part of the run began: another job on the machine shows up here. */
  loadByPart?: Record<string, number[]>;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    loadAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function currentLoad(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}
