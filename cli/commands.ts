/**
 * Every command of `berth`: its names, usage and summary, and its module, loaded only when the
 * command runs (so that the command line starts fast). `berth --help`, each command's `--help` and
 * the reference in docs/ are made from this table and the commands' own flags.
 */
export type Command = (args: string[]) => Promise<number>;

export interface CommandSpec {
  /** How it is called; the first is its name, the others are Docker's other spellings ("image pull"). */
  names: string[];
  /** Its arguments after the name, as help shows them ("[OPTIONS] IMAGE [COMMAND] [ARG...]"). */
  usage: string;
  /** One line on what it does. */
  summary: string;
  group: 'Berth' | 'Images' | 'Containers' | 'Builds' | 'Volumes' | 'Networks' | 'Cluster';
  load(): Promise<Command>;
}

export const COMMANDS: CommandSpec[] = [
  { group: 'Berth', names: ['up'], usage: '[OPTIONS]', summary: 'Start Berth on this host (embedded Postgres and NATS unless external ones are configured)', load: async () => (await import('./commands/up.js')).up },
  { group: 'Berth', names: ['down'], usage: '', summary: 'Stop what `berth up -d` started', load: async () => (await import('./commands/down.js')).down },
  { group: 'Berth', names: ['system info', 'info'], usage: '[OPTIONS]', summary: 'Show each service, its version and health, and Postgres and NATS', load: async () => (await import('./commands/system-info.js')).systemInfo },
  { group: 'Berth', names: ['events', 'system events'], usage: '[OPTIONS]', summary: 'Show events, replayed from the durable stream and then live', load: async () => (await import('./commands/system/events.js')).eventsCommand },
  { group: 'Berth', names: ['version'], usage: '', summary: 'Show the version of the berth command', load: async () => (await import('./commands/version.js')).version },

  { group: 'Images', names: ['pull', 'image pull'], usage: '[OPTIONS] IMAGE', summary: 'Pull an image from a registry', load: async () => (await import('./commands/image/pull.js')).pull },
  { group: 'Images', names: ['push', 'image push'], usage: '[OPTIONS] NAME[:TAG]', summary: 'Push an image to its registry', load: async () => (await import('./commands/image/push.js')).push },
  { group: 'Images', names: ['images', 'image ls', 'image list'], usage: '[OPTIONS] [REPOSITORY[:TAG]]', summary: 'List images', load: async () => (await import('./commands/image/list.js')).images },
  { group: 'Images', names: ['image inspect'], usage: '[OPTIONS] IMAGE...', summary: 'Show everything about images, as JSON', load: async () => (await import('./commands/image/inspect.js')).inspect },
  { group: 'Images', names: ['tag', 'image tag'], usage: 'SOURCE TARGET', summary: 'Give an image another name', load: async () => (await import('./commands/image/tag.js')).tag },
  { group: 'Images', names: ['rmi', 'image rm'], usage: '[OPTIONS] IMAGE...', summary: 'Remove images', load: async () => (await import('./commands/image/remove.js')).rmi },
  { group: 'Images', names: ['history', 'image history'], usage: '[OPTIONS] IMAGE', summary: 'Show how an image was made, layer by layer', load: async () => (await import('./commands/image/history.js')).history },
  { group: 'Images', names: ['save', 'image save'], usage: '[OPTIONS] IMAGE...', summary: 'Write images to a tar archive (docker save format)', load: async () => (await import('./commands/image/save.js')).save },
  { group: 'Images', names: ['load', 'image load'], usage: '[OPTIONS]', summary: 'Load images from a tar archive (docker save or OCI layout)', load: async () => (await import('./commands/image/save.js')).load },
  { group: 'Images', names: ['import', 'image import'], usage: '[OPTIONS] FILE|- [REPOSITORY[:TAG]]', summary: 'Make an image from a root filesystem tarball', load: async () => (await import('./commands/image/import.js')).importTarball },
  { group: 'Images', names: ['image prune'], usage: '[OPTIONS]', summary: 'Remove dangling images (all unused ones with -a) and unreferenced blobs', load: async () => (await import('./commands/image/prune.js')).prune },
  { group: 'Images', names: ['login'], usage: '[OPTIONS] [SERVER]', summary: 'Check and store credentials for a registry', load: async () => (await import('./commands/image/login.js')).login },
  { group: 'Images', names: ['logout'], usage: '[SERVER]', summary: "Forget a registry's credentials", load: async () => (await import('./commands/image/login.js')).logout },

  { group: 'Containers', names: ['run', 'container run'], usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create and start a container; stream its output and exit with its code', load: async () => (await import('./commands/container/run.js')).run },
  { group: 'Containers', names: ['create', 'container create'], usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', summary: 'Create a container without starting it', load: async () => (await import('./commands/container/run.js')).create },
  { group: 'Containers', names: ['start', 'container start'], usage: '[OPTIONS] CONTAINER...', summary: 'Start containers', load: async () => (await import('./commands/container/verbs.js')).start },
  { group: 'Containers', names: ['attach', 'container attach'], usage: 'CONTAINER', summary: "Attach to a running container's input and output", load: async () => (await import('./commands/container/attach.js')).attach },
  { group: 'Containers', names: ['stop', 'container stop'], usage: '[OPTIONS] CONTAINER...', summary: 'Stop containers: the stop signal, then SIGKILL after a timeout', load: async () => (await import('./commands/container/verbs.js')).stop },
  { group: 'Containers', names: ['restart', 'container restart'], usage: '[OPTIONS] CONTAINER...', summary: 'Stop and start containers', load: async () => (await import('./commands/container/verbs.js')).restart },
  { group: 'Containers', names: ['kill', 'container kill'], usage: '[OPTIONS] CONTAINER...', summary: 'Send a signal to containers', load: async () => (await import('./commands/container/verbs.js')).kill },
  { group: 'Containers', names: ['pause', 'container pause'], usage: 'CONTAINER...', summary: 'Freeze every process of containers', load: async () => (await import('./commands/container/verbs.js')).pause },
  { group: 'Containers', names: ['unpause', 'container unpause'], usage: 'CONTAINER...', summary: 'Thaw paused containers', load: async () => (await import('./commands/container/verbs.js')).unpause },
  { group: 'Containers', names: ['rm', 'container rm'], usage: '[OPTIONS] CONTAINER...', summary: 'Remove containers', load: async () => (await import('./commands/container/verbs.js')).rm },
  { group: 'Containers', names: ['ps', 'container ls', 'container list'], usage: '[OPTIONS]', summary: 'List containers', load: async () => (await import('./commands/container/ps.js')).ps },
  { group: 'Containers', names: ['logs', 'container logs'], usage: '[OPTIONS] CONTAINER', summary: "Show a container's output", load: async () => (await import('./commands/container/logs.js')).logs },
  { group: 'Containers', names: ['exec', 'container exec'], usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', summary: 'Run a command in a running container', load: async () => (await import('./commands/container/exec.js')).exec },
  { group: 'Containers', names: ['inspect'], usage: '[OPTIONS] NAME...', summary: 'Show containers (or images, by that name) as JSON', load: async () => (await import('./commands/container/inspect.js')).inspect },
  { group: 'Containers', names: ['container inspect'], usage: '[OPTIONS] CONTAINER...', summary: 'Show containers as JSON', load: async () => (await import('./commands/container/inspect.js')).inspectContainers },
  { group: 'Containers', names: ['stats', 'container stats'], usage: '[OPTIONS] [CONTAINER...]', summary: 'Show resource usage: CPU, memory, processes, block I/O', load: async () => (await import('./commands/container/stats.js')).stats },
  { group: 'Containers', names: ['port', 'container port'], usage: 'CONTAINER [PORT[/PROTOCOL]]', summary: "Show where a container's published ports are reached on the host", load: async () => (await import('./commands/container/port.js')).port },
  { group: 'Containers', names: ['top', 'container top'], usage: 'CONTAINER [ps OPTIONS]', summary: "Show a container's processes", load: async () => (await import('./commands/container/stats.js')).top },
  { group: 'Containers', names: ['wait', 'container wait'], usage: 'CONTAINER...', summary: 'Wait for containers to stop; print their exit codes', load: async () => (await import('./commands/container/verbs.js')).wait },
  { group: 'Containers', names: ['rename', 'container rename'], usage: 'CONTAINER NEW_NAME', summary: 'Rename a container', load: async () => (await import('./commands/container/verbs.js')).rename },
  { group: 'Containers', names: ['update', 'container update'], usage: '[OPTIONS] CONTAINER...', summary: 'Change the limits and restart policy of containers', load: async () => (await import('./commands/container/verbs.js')).update },
  { group: 'Containers', names: ['container prune'], usage: '[OPTIONS]', summary: 'Remove every container that is not running', load: async () => (await import('./commands/container/verbs.js')).prune },
  { group: 'Containers', names: ['diff', 'container diff'], usage: 'CONTAINER', summary: 'Show what a container changed (A added, C changed, D deleted)', load: async () => (await import('./commands/container/filesystem.js')).diff },
  { group: 'Containers', names: ['commit', 'container commit'], usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', summary: 'Make an image of a container', load: async () => (await import('./commands/container/filesystem.js')).commit },
  { group: 'Containers', names: ['export', 'container export'], usage: '[OPTIONS] CONTAINER', summary: "Write a container's filesystem as a tar", load: async () => (await import('./commands/container/filesystem.js')).exportContainer },
  { group: 'Containers', names: ['cp', 'container cp'], usage: 'CONTAINER:PATH DEST|-  or  SRC|- CONTAINER:DIR', summary: 'Copy files out of or into a container', load: async () => (await import('./commands/container/filesystem.js')).cp },

  { group: 'Builds', names: ['build', 'image build'], usage: '[OPTIONS] PATH', summary: 'Build an image from a Dockerfile and a context directory', load: async () => (await import('./commands/build/build.js')).build },
  { group: 'Builds', names: ['builder prune'], usage: '[OPTIONS]', summary: 'Drop the build cache', load: async () => (await import('./commands/build/prune.js')).builderPrune },

  { group: 'Volumes', names: ['volume create'], usage: '[OPTIONS] [NAME]', summary: 'Make a volume', load: async () => (await import('./commands/volume/create.js')).createVolume },
  { group: 'Volumes', names: ['volume ls', 'volume list'], usage: '[OPTIONS]', summary: 'List volumes', load: async () => (await import('./commands/volume/list.js')).listVolumes },
  { group: 'Volumes', names: ['volume inspect'], usage: '[OPTIONS] VOLUME...', summary: 'Show volumes as JSON, with their size and the containers using them', load: async () => (await import('./commands/volume/inspect.js')).inspectVolumes },
  { group: 'Volumes', names: ['volume rm', 'volume remove'], usage: '[OPTIONS] VOLUME...', summary: 'Remove volumes', load: async () => (await import('./commands/volume/remove.js')).removeVolumes },
  { group: 'Volumes', names: ['volume prune'], usage: '[OPTIONS]', summary: 'Remove volumes no container uses', load: async () => (await import('./commands/volume/prune.js')).pruneVolumes },
  { group: 'Volumes', names: ['volume export'], usage: '[OPTIONS] VOLUME', summary: "Write a volume's content as a tar", load: async () => (await import('./commands/volume/export.js')).exportVolume },
  { group: 'Volumes', names: ['volume import'], usage: '[OPTIONS] VOLUME [FILE|-]', summary: 'Fill a new or empty volume from a tar', load: async () => (await import('./commands/volume/import.js')).importVolume },
  { group: 'Volumes', names: ['volume clone'], usage: '[OPTIONS] SOURCE TARGET', summary: 'Make a new volume holding a copy of another', load: async () => (await import('./commands/volume/clone.js')).cloneVolume },

  { group: 'Networks', names: ['network create'], usage: '[OPTIONS] NAME', summary: 'Make a bridge network; prints its id', load: async () => (await import('./commands/network/create.js')).createNetwork },
  { group: 'Networks', names: ['network ls', 'network list'], usage: '[OPTIONS]', summary: 'List networks', load: async () => (await import('./commands/network/list.js')).listNetworks },
  { group: 'Networks', names: ['network inspect'], usage: '[OPTIONS] NETWORK...', summary: 'Show networks as JSON, with the containers on them', load: async () => (await import('./commands/network/inspect.js')).inspectNetworks },
  { group: 'Networks', names: ['network rm', 'network remove'], usage: '[OPTIONS] NETWORK...', summary: 'Remove networks no container is on', load: async () => (await import('./commands/network/remove.js')).removeNetworks },
  { group: 'Networks', names: ['network prune'], usage: '[OPTIONS]', summary: 'Remove every user-defined network no container is on', load: async () => (await import('./commands/network/prune.js')).pruneNetworks },
  { group: 'Networks', names: ['network connect'], usage: '[OPTIONS] NETWORK CONTAINER', summary: 'Put a container on a network too', load: async () => (await import('./commands/network/connect.js')).connectNetwork },
  { group: 'Networks', names: ['network disconnect'], usage: 'NETWORK CONTAINER', summary: 'Take a container off a network', load: async () => (await import('./commands/network/connect.js')).disconnectNetwork },

  { group: 'Cluster', names: ['node ls', 'node list'], usage: '[OPTIONS]', summary: "List the cluster's nodes: state, resources, containers", load: async () => (await import('./commands/node/node.js')).listNodes },
  { group: 'Cluster', names: ['node inspect'], usage: '[OPTIONS] NODE...', summary: 'Show nodes as JSON', load: async () => (await import('./commands/node/node.js')).inspectNodes },
  { group: 'Cluster', names: ['node drain'], usage: '[OPTIONS] NODE', summary: 'Place no new containers on a node', load: async () => (await import('./commands/node/node.js')).drainNode },
  { group: 'Cluster', names: ['node rm'], usage: '[OPTIONS] NODE...', summary: 'Forget nodes that left', load: async () => (await import('./commands/node/node.js')).removeNodes },
  { group: 'Cluster', names: ['certs ca'], usage: '[OPTIONS]', summary: "Make the cluster's CA for mutual TLS", load: async () => (await import('./commands/certs.js')).certsCa },
  { group: 'Cluster', names: ['certs node'], usage: '[OPTIONS] NAME', summary: "Make a host's certificate, to serve TCP and call other hosts", load: async () => (await import('./commands/certs.js')).certsNode },
  { group: 'Cluster', names: ['certs client'], usage: '[OPTIONS] NAME', summary: 'Make a certificate for a remote user or program', load: async () => (await import('./commands/certs.js')).certsClient },
];

/** The command that argv names (two words first: "volume ls" before "volume"), and the arguments after its name. */
export function findCommand(argv: string[]): { spec: CommandSpec; name: string; args: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const spec = COMMANDS.find((command) => command.names.includes(name));
    if (spec !== undefined && argv.length >= words) return { spec, name, args: argv.slice(words) };
  }
  return undefined;
}
