/**
 * A Dockerfile as the builder executes it. Parsing (parse.ts) gives each instruction's words as
 * written; resolving (resolve.ts) expands variables with the environment in effect at that point of
 * the build (the stage's ENV, including its base image's, and the ARGs in scope), since that
 * environment is known only while the build runs.
 */
export interface Dockerfile {
  /** ARG instructions before the first FROM: usable in FROM lines, and re-declarable in stages. */
  globalArgs: ParsedInstruction[];
  stages: Stage[];
  /** The escape character (the `# escape=` directive): "\\" or "`". */
  escape: string;
}

export interface Stage {
  /** 0-based, in file order. */
  index: number;
  /** `FROM image AS name`: the name, lower-cased; undefined when unnamed. */
  name?: string;
  /** The FROM instruction (kind 'FROM'). */
  from: ParsedInstruction;
  /** The instructions after FROM, up to the next FROM. */
  instructions: ParsedInstruction[];
}

export type InstructionKind =
  | 'FROM' | 'RUN' | 'CMD' | 'ENTRYPOINT' | 'ENV' | 'ARG' | 'LABEL' | 'EXPOSE' | 'VOLUME' | 'WORKDIR' | 'USER'
  | 'COPY' | 'ADD' | 'SHELL' | 'STOPSIGNAL' | 'HEALTHCHECK' | 'ONBUILD' | 'MAINTAINER';

/** One instruction, not yet expanded. */
export interface ParsedInstruction {
  kind: InstructionKind;
  /** 1-based line of the instruction's keyword (for errors and progress). */
  line: number;
  /** The instruction as written, continuations joined: what history's created_by shows. */
  text: string;
  /** Flags (`--from=x`, `--chown=u:g`, `--mount=...` may repeat), values unexpanded. */
  flags: Array<{ name: string; value: string }>;
  /** The arguments after the flags, as written (unexpanded); for the JSON form, undefined. */
  rawArguments?: string;
  /** The JSON (exec) form's strings, when the instruction is written in it (RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD, VOLUME, HEALTHCHECK CMD). */
  json?: string[];
  /** For ONBUILD: the trigger instruction, parsed. */
  trigger?: ParsedInstruction;
  /**
   * For HEALTHCHECK: the inner instruction's kind ("CMD" or "NONE") is in rawArguments/json as for CMD:
   * `HEALTHCHECK NONE` has rawArguments "NONE", `HEALTHCHECK CMD curl x` has "CMD curl x", and
   * `HEALTHCHECK CMD ["curl", "x"]` has json ["CMD", "curl", "x"].
   */
}

/** A command in exec form (argv) or shell form (one string, run with the stage's SHELL). */
export type Command = { exec: string[] } | { shell: string };

export interface RunMount {
  type: 'cache' | 'bind' | 'tmpfs';
  target: string;
  /** bind: path in the context or in `from`; cache: unused. */
  source?: string;
  /** bind: a stage name/index or an image. */
  from?: string;
  /** cache: the cache's id (defaults to the target). */
  id?: string;
  readOnly: boolean;
  /** cache: how concurrent builds share it (Docker's default: shared). */
  sharing?: 'shared' | 'private' | 'locked';
  /** cache: the owner and mode of the cache directory when it is created. */
  uid?: number;
  gid?: number;
  mode?: number;
}

export interface HealthcheckSpec {
  /** ["NONE"], ["CMD", ...argv] or ["CMD-SHELL", command], as the image config stores it. */
  test: string[];
  /** Durations in nanoseconds (the config's unit); 0 = the default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

/** An instruction with its variables expanded and its arguments checked. */
export type ResolvedInstruction = { line: number; text: string } & (
  | { kind: 'RUN'; command: Command; mounts: RunMount[]; network?: 'default' | 'none' | 'host'; security?: 'sandbox' | 'insecure' }
  | { kind: 'CMD' | 'ENTRYPOINT'; command: Command }
  | { kind: 'ENV' | 'LABEL'; pairs: Array<[string, string]> }
  | { kind: 'ARG'; args: Array<{ name: string; defaultValue?: string }> }
  | { kind: 'EXPOSE'; ports: string[] }
  | { kind: 'VOLUME'; paths: string[] }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'USER'; user: string }
  | {
      kind: 'COPY' | 'ADD';
      sources: string[];
      destination: string;
      from?: string;
      chown?: string;
      chmod?: string;
      link: boolean;
      keepGitDir: boolean;
      /** COPY --parents: keep the sources' parent directories under the destination. */
      parents: boolean;
      /** ADD --checksum: the digest a remote source must have. */
      checksum?: string;
    }
  | { kind: 'SHELL'; shell: string[] }
  | { kind: 'STOPSIGNAL'; signal: string }
  | { kind: 'HEALTHCHECK'; healthcheck: HealthcheckSpec }
  | { kind: 'ONBUILD'; trigger: string }
  | { kind: 'MAINTAINER'; maintainer: string }
);
