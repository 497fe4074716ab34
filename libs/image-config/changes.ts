import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { invalidArgument } from '../errors';

/** The instructions `docker import --change` accepts. */
const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

export type RunConfig = Record<string, unknown> & { Env?: string[]; Labels?: Record<string, string>; ExposedPorts?: Record<string, object>; Volumes?: Record<string, object>; OnBuild?: string[] };

/** Applies Dockerfile instructions (`--change 'CMD ["sh"]'`) to an image config's run settings. */
export function applyChanges(config: RunConfig, changes: string[]): RunConfig {
  for (const change of changes) {
    const instructions = DockerfileParser.parse(change).getInstructions();
    if (instructions.length !== 1) throw invalidArgument(`--change "${change}": give exactly one Dockerfile instruction`);
    apply(config, instructions[0]!, change);
  }
  return config;
}

function apply(config: RunConfig, instruction: Instruction, change: string): void {
  const keyword = instruction.getKeyword().toUpperCase();
  if (!ALLOWED.includes(keyword)) throw invalidArgument(`--change "${change}": ${keyword} is not allowed (use ${ALLOWED.join(', ')})`);
  const content = instruction.getArgumentsContent() ?? '';
  const words = instruction.getArguments().map((a) => a.getValue());
  switch (keyword) {
    case 'CMD':
    case 'ENTRYPOINT':
      config[keyword === 'CMD' ? 'Cmd' : 'Entrypoint'] = commandOf(content, change);
      break;
    case 'ENV':
    case 'LABEL': {
      const properties = (instruction as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties();
      if (properties.length === 0) throw invalidArgument(`--change "${change}": expected NAME=value`);
      for (const property of properties) {
        if (keyword === 'ENV') {
          const env = (config.Env ?? []).filter((entry) => !entry.startsWith(`${property.getName()}=`));
          config.Env = [...env, `${property.getName()}=${property.getValue() ?? ''}`];
        } else {
          config.Labels = { ...config.Labels, [property.getName()]: property.getValue() ?? '' };
        }
      }
      break;
    }
    case 'EXPOSE':
      for (const port of words) config.ExposedPorts = { ...config.ExposedPorts, [port.includes('/') ? port : `${port}/tcp`]: {} };
      break;
    case 'VOLUME':
      for (const path of content.trim().startsWith('[') ? commandOf(content, change) : words) config.Volumes = { ...config.Volumes, [path]: {} };
      break;
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), content];
      break;
    case 'STOPSIGNAL':
      config.StopSignal = content.trim();
      break;
    case 'USER':
      config.User = content.trim();
      break;
    case 'WORKDIR':
      config.WorkingDir = content.trim();
      break;
  }
}

/** The exec form (a JSON array) as it is; the shell form run by /bin/sh -c, as Docker does. */
function commandOf(content: string, change: string): string[] {
  const text = content.trim();
  if (!text.startsWith('[')) return ['/bin/sh', '-c', text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument(`--change "${change}": the exec form must be a JSON array of strings`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw invalidArgument(`--change "${change}": the exec form must be a JSON array of strings`);
  }
  return parsed;
}
