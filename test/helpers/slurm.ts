// A real one-node Slurm cluster for a test: Debian's munged, slurmctld and slurmd started on this
// machine with their configuration, state, spool, logs and munge socket in a temporary folder (so
// nothing system-wide is touched but the munge key they read), and stopped by pid afterwards.
// Needs root (slurmd runs jobs as their user; munged runs as the munge user, via setpriv).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const DAEMONS = { munged: '/usr/sbin/munged', slurmctld: '/usr/sbin/slurmctld', slurmd: '/usr/sbin/slurmd' };
const CLIENTS = ['sbatch', 'squeue', 'scancel', 'sinfo', 'scontrol'];
export const MUNGE_KEY = '/etc/munge/munge.key';

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Why a cluster cannot be started here, or undefined when it can. */
export function slurmMissing(): string | undefined {
  const missing = [...Object.values(DAEMONS).filter((d) => !fs.existsSync(d)), ...CLIENTS.filter((c) => !onPath(c))];
  if (missing.length) return `Slurm is not installed (missing ${missing.join(', ')}; apt-get install slurmctld slurmd munge slurm-client)`;
  if (process.getuid?.() !== 0) return 'starting slurmd and munged needs root';
  if (!fs.existsSync(MUNGE_KEY)) return `${MUNGE_KEY} is missing (reinstall munge, or: mungekey --create)`;
  if (!onPath('setpriv')) return 'setpriv (util-linux) is needed to start munged as the munge user';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

export interface Cluster {
  dir: string;
  /** The environment for sbatch, squeue, ... (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  run(cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): string;
  /** Waits until none of the jobs is pending or running. */
  waitFor(jobIds: string[], timeoutMs: number): Promise<void>;
  /** The jobs' states from squeue (pending/running ones only): id -> state. */
  queue(): Map<string, string>;
  logs(): string;
  /** Cancels what is left, stops the daemons (by pid) and removes the folder. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `dir`: a folder of its own the munge user can reach (made readable here; its parents must be). */
export async function startCluster(dir: string, cpus = 2): Promise<Cluster> {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const munge = path.join(dir, 'munge');
  for (const d of ['state', 'spool', 'log', 'munge']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const uid = Number(spawnSync('id', ['-u', 'munge'], { encoding: 'utf8' }).stdout);
  const gid = Number(spawnSync('id', ['-g', 'munge'], { encoding: 'utf8' }).stdout);
  fs.chownSync(munge, uid, gid);
  const socket = path.join(munge, 'munge.socket');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, [
    'ClusterName=neuronpath', 'SlurmctldHost=localhost', `SlurmctldPort=${ctldPort}`, `SlurmdPort=${slurmdPort}`, 'SlurmUser=root',
    'AuthType=auth/munge', `AuthInfo=socket=${socket}`, 'CredType=cred/munge',
    'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'JobAcctGatherType=jobacct_gather/none', 'MpiDefault=none',
    'SelectType=select/cons_tres', 'SelectTypeParameters=CR_CPU', 'ReturnToService=2', 'KillWait=20', 'MinJobAge=600',
    `StateSaveLocation=${dir}/state`, `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`, `SlurmdPidFile=${dir}/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`, `SlurmdLogFile=${dir}/log/slurmd.log`,
    `NodeName=localhost CPUs=${cpus} State=UNKNOWN`, 'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP', '',
  ].join('\n'));
  const env = { ...process.env, SLURM_CONF: conf };
  const started: { name: string; proc: ChildProcess }[] = [];
  const start = (name: string, cmd: string, args: string[]) => {
    const out = fs.openSync(path.join(dir, 'log', `${name}.out`), 'a');
    const proc = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    started.push({ name, proc });
  };
  const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...env, ...opts.env }, cwd: opts.cwd ?? dir });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const logs = () => ['slurmctld.log', 'slurmd.log', 'munged.out', 'slurmctld.out', 'slurmd.out']
    .map((f) => { try { return `--- ${f}\n${fs.readFileSync(path.join(dir, 'log', f), 'utf8').split('\n').slice(-15).join('\n')}`; } catch { return ''; } }).join('\n');
  const stop = async () => {
    // scancel whatever is left, then the daemons in reverse order, by pid; wait for each to exit.
    try { run('scancel', ['--full', '-u', 'root']); } catch { /* controller already gone */ }
    for (const { proc } of started.reverse()) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // setpriv execs munged (the pid is munged's own), as the munge user that owns the key.
    start('munged', 'setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', DAEMONS.munged, '-F', `--socket=${socket}`, `--pid-file=${munge}/munged.pid`,
      `--log-file=${munge}/munged.log`, `--seed-file=${munge}/munged.seed`, `--key-file=${MUNGE_KEY}`]);
    for (let i = 0; !fs.existsSync(socket); i++) { if (i > 100) throw new Error('munged did not start'); await sleep(100); }
    start('slurmctld', DAEMONS.slurmctld, ['-D', '-f', conf]);
    start('slurmd', DAEMONS.slurmd, ['-D', '-f', conf, '-N', 'localhost']);
    for (let i = 0; ; i++) {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', env });
      if (r.status === 0 && /^idle/m.test(r.stdout)) break;
      if (i > 150 || started.some(({ proc }) => proc.exitCode !== null)) throw new Error(`the cluster did not come up (sinfo: ${r.stdout}${r.stderr})`);
      await sleep(200);
    }
  } catch (e) {
    const text = logs();
    await stop();
    throw new Error(`${(e as Error).message}\n${text}`);
  }
  const queue = () => new Map(run('squeue', ['-h', '-r', '-o', '%i %T']).trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  return {
    dir, env, run, queue, logs, stop,
    async waitFor(jobIds, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while ([...queue().keys()].some((id) => jobIds.some((j) => id === j || id.startsWith(`${j}_`)))) {
        if (Date.now() > deadline) throw new Error(`jobs ${jobIds.join(', ')} still queued after ${timeoutMs} ms:\n${run('squeue', [])}\n${logs()}`);
        await sleep(250);
      }
    },
  };
}
