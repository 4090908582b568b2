/**
 * Fargate's task sizes: the cpu and memory combinations AWS accepts, and the parsing of
 * the forms ECS takes (`256`, `0.25 vCPU`; `512`, `1 GB`).
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
import { ClientException } from '../../api/ecs/errors.js';

const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let m = from; m <= to; m += step) out.push(m);
  return out;
};

/** cpu units → the memory sizes (MiB) Fargate allows with it. */
export const FARGATE_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
]);

/** cpu units from `256` or `0.25 vCPU`; undefined when it is neither. */
export function parseCpu(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] ? Math.round(n * 1024) : Number.isInteger(n) ? n : undefined;
}

/** MiB from `512` or `1 GB`; undefined when it is neither. */
export function parseMemory(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(gb)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] ? Math.round(n * 1024) : Number.isInteger(n) ? n : undefined;
}

/**
 * Refuses a task size Fargate does not offer, as RegisterTaskDefinition does for a
 * definition that requires FARGATE (and RunTask for a launch type FARGATE).
 */
export function checkFargateSize(cpu: string | undefined, memory: string | undefined): void {
  if (cpu === undefined)
    throw new ClientException("Fargate requires that 'cpu' be defined at the task level.");
  const units = parseCpu(cpu);
  const allowed = units === undefined ? undefined : FARGATE_SIZES.get(units);
  if (!allowed) throw new ClientException("Invalid 'cpu' setting for task.");
  if (memory === undefined)
    throw new ClientException("Fargate requires that 'memory' be defined at the task level.");
  const mib = parseMemory(memory);
  if (mib === undefined || !allowed.includes(mib))
    throw new ClientException("Invalid 'cpu' setting for task.");
}
