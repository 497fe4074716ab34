/**
 * `berth`: Docker's verbs over Berth's gRPC API. Each command's module is loaded only when that
 * command runs, so that the command line starts fast.
 */
import { BerthError } from '../libs/errors';
import { VERSION } from '../libs/version';

const USAGE = `Usage: berth COMMAND

Commands:
  up [-d]              Start Berth on this host (embedded Postgres and NATS unless external ones are configured)
  down                 Stop what \`berth up -d\` started
  system info          Show each service, its version and health, and Postgres and NATS
  certs ca             Make the cluster's CA for mutual TLS (--dir, default /etc/berth/pki; --days)
  certs node NAME      A host's certificate, to serve TCP and call other hosts (--address IP, --dns NAME)
  certs client NAME    A certificate for a remote user or program
  node ls              List the cluster's nodes: state (ready, draining, unreachable), resources, containers
  node inspect NODE... Show nodes as JSON (-f TEMPLATE)
  node drain NODE      Place no new containers there (--undo: again)
  node rm NODE...      Forget nodes that left (silent already; --force: and their containers' records)
  events               Show events, replayed and then live (--since T|--since-sequence N, --until T|--until-sequence N,
                       --filter type|event|container|image|volume|network|label|node=V, --format json|TEMPLATE)
  version              Show the version of the berth command

Images:
  pull IMAGE           Pull an image from a registry (--platform os/arch, -q)
  push NAME[:TAG]      Push an image to its registry
  images               List images (-a, -q, --digests, --no-trunc, --filter k=v, --format json)
  image inspect IMAGE  Show everything about images, as JSON
  tag SOURCE TARGET    Give an image another name
  rmi IMAGE...         Remove images (-f, --no-prune)
  history IMAGE        Show how an image was made
  save -o FILE IMAGE.. Write images to a tar archive (docker save format)
  load -i FILE         Load images from a tar archive (docker save or OCI layout)
  import FILE [REPO]   Make an image from a root filesystem tarball (-c 'CMD ["sh"]', -m MESSAGE)
  image prune          Remove dangling images and unreferenced blobs (--filter until=24h, label=k=v)
  login [SERVER]       Check and store credentials for a registry (-u USER --password-stdin)
  logout [SERVER]      Forget a registry's credentials

Containers:
  run IMAGE [CMD...]   Create and start a container; stream its output and exit with its code
                       (-d, -i, -t, --rm, --name, -e, --env-file, -w, -u, -m, --cpus, --pids-limit, --restart,
                        --read-only, --tmpfs, -v /HOST:/CTR[:ro], -v NAME:/CTR[:ro], -v /CTR (a new volume),
                        --mount type=bind|volume|tmpfs,..., --entrypoint, --health-*, -l,
                        -p [HOST_IP:][HOST_PORT:]CTR_PORT[/udp], -P, --expose PORT[/udp],
                        --network bridge|host|none|NET, --network-alias NAME,
                        --node NODE, --constraint node.labels.KEY==VALUE|node.name!=NODE)
  create IMAGE [CMD..] Create a container without starting it (the same options as run)
  start [-a] [-i] C... Start containers (-a: attached, exit with its code)
  attach C             Attach to a running container's input and output
  stop [-t S] C...     Stop containers: the stop signal, then SIGKILL after -t seconds
  restart C...         Stop and start containers
  kill [-s SIG] C...   Send a signal to containers
  pause / unpause C... Freeze and thaw every process of containers
  rm [-f] [-v] C...    Remove containers (-f: running ones too; -v: their anonymous volumes too)
  ps                   List containers (-a, -q, --no-trunc, --filter k=v, --format json|TEMPLATE)
  logs C               Show a container's output (-f, --tail N, --since, --until, -t)
  exec C CMD...        Run a command in a running container (-i, -e, -u, -w)
  inspect NAME...      Show containers (or images) as JSON (-f TEMPLATE)
  stats [C...]         Show resource usage (--no-stream)
  port C [PORT[/udp]]  Show where a container's published ports are reached on the host
  top C [ps OPTIONS]   Show a container's processes
  wait C...            Wait for containers to stop; print their exit codes
  rename C NAME        Rename a container
  update C...          Change limits (--memory, --cpus, --pids-limit) and --restart
  container prune      Remove every container that is not running
  diff C               Show what a container changed (A added, C changed, D deleted)
  commit C [REPO:TAG]  Make an image of a container (-m, -a, -c CHANGE, --no-pause)
  export [-o F] C      Write a container's filesystem as a tar
  cp C:PATH DEST       Copy out of a container (DEST "-" for a tar on stdout)
  cp SRC C:DIR         Copy into a directory of a container (SRC "-" for a tar on stdin)

Builds:
  build PATH           Build an image from a Dockerfile (-t NAME, -f FILE, --build-arg K=V, --target STAGE,
                       --no-cache, --label K=V, --platform, -q; --progress=plain is the only output)
  builder prune        Drop the build cache (--filter until=24h)

Volumes:
  volume create [NAME] Make a volume (-l k=v; -o k=v driver options: type, device, o)
  volume ls            List volumes (-q, --filter name|label|dangling|driver=V, --format json|TEMPLATE)
  volume inspect V...  Show volumes as JSON, with their size and the containers using them (-f TEMPLATE)
  volume rm V...       Remove volumes (-f: even those that stopped containers use)
  volume prune         Remove volumes no container uses: anonymous ones, named ones too with -a (--filter label=k=v)
  volume export V      Write a volume's content as a tar (-o FILE)
  volume import V [F]  Fill a new or empty volume from a tar, F or stdin (-l k=v, -o k=v)
  volume clone SRC DST Make a new volume holding a copy of another (-l k=v)

Networks:
  network create NAME  Make a bridge network; prints its id (--subnet CIDR, --gateway IP, --internal, --label k=v)
  network ls           List networks (-q, --no-trunc, --filter name|id|driver|label|type=V, --format json|TEMPLATE)
  network inspect N... Show networks as JSON, with the containers on them (-f TEMPLATE)
  network rm N...      Remove networks no container is on (-f: no error for missing ones)
  network prune        Remove every user-defined network no container is on (--filter label=k=v, until=24h)
  network connect N C  Put a container on a network too (--alias NAME)
  network disconnect   Take a container off a network (network disconnect N C)

Configuration: /etc/berth/config.json (or BERTH_CONFIG), then BERTH_* environment variables.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => (await import('./commands/up.js')).up,
  down: async () => (await import('./commands/down.js')).down,
  'system info': async () => (await import('./commands/system-info.js')).systemInfo,
  info: async () => (await import('./commands/system-info.js')).systemInfo,
  pull: async () => (await import('./commands/image/pull.js')).pull,
  'image pull': async () => (await import('./commands/image/pull.js')).pull,
  push: async () => (await import('./commands/image/push.js')).push,
  'image push': async () => (await import('./commands/image/push.js')).push,
  images: async () => (await import('./commands/image/list.js')).images,
  'image ls': async () => (await import('./commands/image/list.js')).images,
  'image list': async () => (await import('./commands/image/list.js')).images,
  'image inspect': async () => (await import('./commands/image/inspect.js')).inspect,
  tag: async () => (await import('./commands/image/tag.js')).tag,
  'image tag': async () => (await import('./commands/image/tag.js')).tag,
  rmi: async () => (await import('./commands/image/remove.js')).rmi,
  'image rm': async () => (await import('./commands/image/remove.js')).rmi,
  history: async () => (await import('./commands/image/history.js')).history,
  'image history': async () => (await import('./commands/image/history.js')).history,
  save: async () => (await import('./commands/image/save.js')).save,
  'image save': async () => (await import('./commands/image/save.js')).save,
  load: async () => (await import('./commands/image/save.js')).load,
  'image load': async () => (await import('./commands/image/save.js')).load,
  import: async () => (await import('./commands/image/import.js')).importTarball,
  'image import': async () => (await import('./commands/image/import.js')).importTarball,
  'image prune': async () => (await import('./commands/image/prune.js')).prune,
  login: async () => (await import('./commands/image/login.js')).login,
  logout: async () => (await import('./commands/image/login.js')).logout,
  run: async () => (await import('./commands/container/run.js')).run,
  'container run': async () => (await import('./commands/container/run.js')).run,
  create: async () => (await import('./commands/container/run.js')).create,
  'container create': async () => (await import('./commands/container/run.js')).create,
  start: async () => (await import('./commands/container/verbs.js')).start,
  'container start': async () => (await import('./commands/container/verbs.js')).start,
  stop: async () => (await import('./commands/container/verbs.js')).stop,
  'container stop': async () => (await import('./commands/container/verbs.js')).stop,
  restart: async () => (await import('./commands/container/verbs.js')).restart,
  'container restart': async () => (await import('./commands/container/verbs.js')).restart,
  kill: async () => (await import('./commands/container/verbs.js')).kill,
  'container kill': async () => (await import('./commands/container/verbs.js')).kill,
  pause: async () => (await import('./commands/container/verbs.js')).pause,
  'container pause': async () => (await import('./commands/container/verbs.js')).pause,
  unpause: async () => (await import('./commands/container/verbs.js')).unpause,
  'container unpause': async () => (await import('./commands/container/verbs.js')).unpause,
  rm: async () => (await import('./commands/container/verbs.js')).rm,
  'container rm': async () => (await import('./commands/container/verbs.js')).rm,
  wait: async () => (await import('./commands/container/verbs.js')).wait,
  'container wait': async () => (await import('./commands/container/verbs.js')).wait,
  rename: async () => (await import('./commands/container/verbs.js')).rename,
  'container rename': async () => (await import('./commands/container/verbs.js')).rename,
  update: async () => (await import('./commands/container/verbs.js')).update,
  'container update': async () => (await import('./commands/container/verbs.js')).update,
  'container prune': async () => (await import('./commands/container/verbs.js')).prune,
  attach: async () => (await import('./commands/container/attach.js')).attach,
  'container attach': async () => (await import('./commands/container/attach.js')).attach,
  ps: async () => (await import('./commands/container/ps.js')).ps,
  events: async () => (await import('./commands/system/events.js')).eventsCommand,
  'certs ca': async () => (await import('./commands/certs.js')).certsCa,
  'certs node': async () => (await import('./commands/certs.js')).certsNode,
  'certs client': async () => (await import('./commands/certs.js')).certsClient,
  'node ls': async () => (await import('./commands/node/node.js')).listNodes,
  'node list': async () => (await import('./commands/node/node.js')).listNodes,
  'node inspect': async () => (await import('./commands/node/node.js')).inspectNodes,
  'node drain': async () => (await import('./commands/node/node.js')).drainNode,
  'node rm': async () => (await import('./commands/node/node.js')).removeNodes,
  'system events': async () => (await import('./commands/system/events.js')).eventsCommand,
  'container ls': async () => (await import('./commands/container/ps.js')).ps,
  'container list': async () => (await import('./commands/container/ps.js')).ps,
  logs: async () => (await import('./commands/container/logs.js')).logs,
  'container logs': async () => (await import('./commands/container/logs.js')).logs,
  exec: async () => (await import('./commands/container/exec.js')).exec,
  'container exec': async () => (await import('./commands/container/exec.js')).exec,
  inspect: async () => (await import('./commands/container/inspect.js')).inspect,
  'container inspect': async () => (await import('./commands/container/inspect.js')).inspectContainers,
  stats: async () => (await import('./commands/container/stats.js')).stats,
  'container stats': async () => (await import('./commands/container/stats.js')).stats,
  port: async () => (await import('./commands/container/port.js')).port,
  'container port': async () => (await import('./commands/container/port.js')).port,
  top: async () => (await import('./commands/container/stats.js')).top,
  'container top': async () => (await import('./commands/container/stats.js')).top,
  diff: async () => (await import('./commands/container/filesystem.js')).diff,
  'container diff': async () => (await import('./commands/container/filesystem.js')).diff,
  commit: async () => (await import('./commands/container/filesystem.js')).commit,
  'container commit': async () => (await import('./commands/container/filesystem.js')).commit,
  export: async () => (await import('./commands/container/filesystem.js')).exportContainer,
  'container export': async () => (await import('./commands/container/filesystem.js')).exportContainer,
  cp: async () => (await import('./commands/container/filesystem.js')).cp,
  'container cp': async () => (await import('./commands/container/filesystem.js')).cp,
  'volume create': async () => (await import('./commands/volume/create.js')).createVolume,
  'volume ls': async () => (await import('./commands/volume/list.js')).listVolumes,
  'volume list': async () => (await import('./commands/volume/list.js')).listVolumes,
  'volume inspect': async () => (await import('./commands/volume/inspect.js')).inspectVolumes,
  'volume rm': async () => (await import('./commands/volume/remove.js')).removeVolumes,
  'volume remove': async () => (await import('./commands/volume/remove.js')).removeVolumes,
  'volume prune': async () => (await import('./commands/volume/prune.js')).pruneVolumes,
  'volume export': async () => (await import('./commands/volume/export.js')).exportVolume,
  'volume import': async () => (await import('./commands/volume/import.js')).importVolume,
  'volume clone': async () => (await import('./commands/volume/clone.js')).cloneVolume,
  'network create': async () => (await import('./commands/network/create.js')).createNetwork,
  'network ls': async () => (await import('./commands/network/list.js')).listNetworks,
  'network list': async () => (await import('./commands/network/list.js')).listNetworks,
  'network inspect': async () => (await import('./commands/network/inspect.js')).inspectNetworks,
  'network rm': async () => (await import('./commands/network/remove.js')).removeNetworks,
  'network remove': async () => (await import('./commands/network/remove.js')).removeNetworks,
  'network prune': async () => (await import('./commands/network/prune.js')).pruneNetworks,
  'network connect': async () => (await import('./commands/network/connect.js')).connectNetwork,
  'network disconnect': async () => (await import('./commands/network/connect.js')).disconnectNetwork,
  build: async () => (await import('./commands/build/build.js')).build,
  'image build': async () => (await import('./commands/build/build.js')).build,
  'builder prune': async () => (await import('./commands/build/prune.js')).builderPrune,
  version: async () => async () => {
    process.stdout.write(`berth ${VERSION}\n`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') argv = ['version'];
  const two = argv.slice(0, 2).join(' ');
  const name = COMMANDS[two] !== undefined ? two : argv[0]!;
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`berth: unknown command "${argv.join(' ')}"; see \`berth --help\`\n`);
    return 2;
  }
  const command = await load();
  return command(argv.slice(name.split(' ').length));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof BerthError) {
      process.stderr.write(`berth: ${err.message}\n`);
      // Usage and configuration errors found here exit 2, as most commands do; failures of the
      // work itself, and whatever a service refused, exit 1 (as Docker's daemon errors do).
      process.exitCode = err.kind === 'invalid_argument' && !err.remote ? 2 : 1;
    } else {
      process.stderr.write(`berth: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
