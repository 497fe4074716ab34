/** Messages between the agent and its spawner process (see spawner/index.ts), over Node's IPC channel. */

/** Run a program to its end, as execFile does. */
export interface RunRequest {
  op: 'run';
  id: number;
  file: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
}

/** Start a program whose stderr and `pipes` further descriptors (3, 4, ...) are relayed; its stdin and stdout are /dev/null. */
export interface SpawnRequest {
  op: 'spawn';
  id: number;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Its working directory, where it may leave files of its own. */
  cwd?: string;
  pipes: number;
  /** In a session of its own, so that it outlives the agent. */
  detached: boolean;
}

/** Bytes for one of a spawned program's pipes. */
export interface WriteRequest {
  op: 'write';
  id: number;
  fd: number;
  data: Uint8Array;
}

/** The agent is done with a spawned program: its pipes close here and the spawner forgets it. */
export interface ReleaseRequest {
  op: 'release';
  id: number;
}

export type Request = RunRequest | SpawnRequest | WriteRequest | ReleaseRequest;

export interface RunReply {
  op: 'ran';
  id: number;
  stdout: string;
  stderr: string;
  /** execFile's error, when the program could not run or did not exit 0. */
  error?: { message: string; code?: number | string; signal?: string | null; killed?: boolean };
}

export interface SpawnedReply {
  op: 'spawned';
  id: number;
  pid: number;
}

export interface SpawnFailedReply {
  op: 'spawn-failed';
  id: number;
  message: string;
  code?: string;
}

/** Bytes a spawned program wrote on one of its pipes. */
export interface DataReply {
  op: 'data';
  id: number;
  fd: number;
  data: Uint8Array;
}

/** A spawned program closed one of its pipes. */
export interface EndReply {
  op: 'end';
  id: number;
  fd: number;
}

export type Reply = RunReply | SpawnedReply | SpawnFailedReply | DataReply | EndReply;
