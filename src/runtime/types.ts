/**
 * Execution drivers: where code really runs. `process` (a child process on the host) is
 * the fast default for Lambda zip functions; `runc` (OCI bundle, cgroup limits, own network
 * namespace) and `docker` slot in behind the same interface for containers and isolation.
 * Every driver passes the same conformance suite (src/runtime/conformance.ts).
 */
export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Memory limit in MB: enforced where the driver can (cgroups), always reported. */
  memoryMb: number;
  /** Host directories the process sees at these paths (runc bind mounts; the process
   *  driver runs with the host paths themselves and passes them through env instead). */
  mounts?: { source: string; target: string; readonly: boolean }[];
}

export interface ProcessIo {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The kernel's OOM killer ended it (container drivers with a memory limit). */
  oomKilled?: boolean;
}

export interface SpawnedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  /** Peak resident memory so far, in MB (VmHWM for a process, memory.peak for a cgroup). */
  peakMemoryMb(): Promise<number>;
  /** Ends the process (and its children) at once; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface ExecutionDriver {
  readonly name: 'process' | 'runc' | 'docker';
  /** Whether memoryMb is a hard limit (cgroups) or only reported. */
  readonly enforcesMemory: boolean;
  spawn(spec: ProcessSpec, io: ProcessIo): Promise<SpawnedProcess>;
}
