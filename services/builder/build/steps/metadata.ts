import { posix } from 'node:path';
import type { Command, ResolvedInstruction } from '../../dockerfile';
import type { ImageConfigJson } from '../state';

type RunSettings = ImageConfigJson['config'];

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** A command as the image runs it: the exec form as written, the shell form through the stage's SHELL. */
export function commandArgv(command: Command, config: RunSettings): string[] {
  return 'exec' in command ? command.exec : [...(config.Shell ?? DEFAULT_SHELL), command.shell];
}

/**
 * Applies an instruction that changes only the config (ENV, LABEL, CMD, ...). cmdSetInStage says
 * whether the stage set CMD already: an ENTRYPOINT clears a CMD inherited from the base image, as
 * Docker does.
 */
export function applyMetadata(image: ImageConfigJson, instruction: ResolvedInstruction, cmdSetInStage: boolean): void {
  const config = image.config;
  switch (instruction.kind) {
    case 'ENV':
      for (const [name, value] of instruction.pairs) config.Env = [...(config.Env ?? []).filter((entry) => !entry.startsWith(`${name}=`)), `${name}=${value}`];
      break;
    case 'LABEL':
      for (const [name, value] of instruction.pairs) config.Labels = { ...config.Labels, [name]: value };
      break;
    case 'EXPOSE':
      for (const port of instruction.ports) config.ExposedPorts = { ...config.ExposedPorts, [port]: {} };
      break;
    case 'VOLUME':
      for (const path of instruction.paths) config.Volumes = { ...config.Volumes, [path]: {} };
      break;
    case 'WORKDIR':
      config.WorkingDir = posix.resolve(config.WorkingDir || '/', instruction.path);
      break;
    case 'USER':
      config.User = instruction.user;
      break;
    case 'CMD':
      config.Cmd = commandArgv(instruction.command, config);
      break;
    case 'ENTRYPOINT':
      config.Entrypoint = commandArgv(instruction.command, config);
      if (!cmdSetInStage) config.Cmd = null;
      break;
    case 'SHELL':
      config.Shell = instruction.shell;
      break;
    case 'STOPSIGNAL':
      config.StopSignal = instruction.signal;
      break;
    case 'HEALTHCHECK': {
      const { test, interval, timeout, startPeriod, startInterval, retries } = instruction.healthcheck;
      config.Healthcheck = {
        Test: test,
        ...(interval ? { Interval: interval } : {}),
        ...(timeout ? { Timeout: timeout } : {}),
        ...(startPeriod ? { StartPeriod: startPeriod } : {}),
        ...(startInterval ? { StartInterval: startInterval } : {}),
        ...(retries ? { Retries: retries } : {}),
      };
      break;
    }
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.trigger];
      break;
    case 'MAINTAINER':
      image.author = instruction.maintainer;
      break;
    default:
      throw new Error(`${instruction.kind} is not a metadata instruction`);
  }
}
