// A small fleet for the fleet tests: N "hosts", each a network namespace whose sshd (Debian's
// openssh-server, own config, own host key, the test's authorized key) runs in a private mount
// namespace with its own /etc/sysctl.d (a temp dir bound over it) and its own /run (tmpfs, for
// sshd's privilege-separation directory), on a 198.18.0.0/15 address. The Ansible controller is a
// namespace too (a bridge to every host), with its own ssh config, known_hosts and ANSIBLE_*
// settings in the temp dir. Nothing is added to the init namespace; teardown() kills what it
// started, deletes the namespaces and the temp dir, and is safe to call twice.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FleetHostNs {
  name: string;
  ns: string;
  address: string;
  /** the private sysctl.d directory (what the host sees as /etc/sysctl.d) */
  sysctlDir: string;
  holder: ChildProcess;
  sshd: ChildProcess | null;
}

export interface FleetLab {
  dir: string;
  ctl: string;
  hosts: FleetHostNs[];
  /** an inventory name whose address nobody answers on */
  unreachable: { name: string; address: string };
  /** the controller's environment for ansible (and nettune under it) */
  env: NodeJS.ProcessEnv;
  /** writes an INI or YAML inventory of the hosts (plus the unreachable one when asked) */
  inventory: (form: 'ini' | 'yaml', withUnreachable: boolean) => string;
  /** runs a command inside a host's network and mount namespace */
  inHost: (host: FleetHostNs, args: readonly string[]) => { code: number | null; stdout: string; stderr: string };
  /** runs a command in the controller namespace with the ansible environment */
  inCtl: (args: readonly string[], timeoutMs?: number, cwd?: string) => { code: number | null; stdout: string; stderr: string };
  teardown: () => void;
}

const sh = (cmd: string, args: readonly string[], timeoutMs = 20_000): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

const must = (cmd: string, args: readonly string[]): string => {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
};

const waitFor = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export async function startFleetLab(count = 3): Promise<FleetLab> {
  const tag = `${process.pid.toString(36).slice(-3)}${Math.random().toString(36).slice(2, 5)}`;
  const dir = mkdtempSync(join(tmpdir(), 'nettune-fleet-lab-'));
  const subnet = '198.19.8';
  const ctl = `nt-fl${tag}-ctl`;
  const namespaces: string[] = [];
  const hosts: FleetHostNs[] = [];
  let torn = false;
  const teardown = (): void => {
    if (torn) return;
    torn = true;
    for (const h of hosts) {
      for (const p of [h.sshd, h.holder]) {
        if (p?.pid && p.exitCode === null) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
    // what else runs in our namespaces (sshd sessions, ssh ControlMaster clients): only ours
    for (const ns of namespaces) {
      for (const pid of sh('ip', ['netns', 'pids', ns]).stdout.split('\n').filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const ns of namespaces.reverse()) sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nettune-fleet-test', '-f', join(dir, 'id_ed25519')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')));
    must('ip', ['netns', 'add', ctl]);
    namespaces.push(ctl);
    must('ip', ['-n', ctl, 'link', 'set', 'lo', 'up']);
    must('ip', ['-n', ctl, 'link', 'add', 'ntbr0', 'type', 'bridge']);
    must('ip', ['-n', ctl, 'addr', 'add', `${subnet}.1/24`, 'dev', 'ntbr0']);
    must('ip', ['-n', ctl, 'link', 'set', 'ntbr0', 'up']);
    const known: string[] = [];
    for (let i = 1; i <= count; i++) {
      const name = `host${i}`;
      const ns = `nt-fl${tag}-h${i}`;
      const address = `${subnet}.${10 + i}`;
      const hdir = join(dir, name);
      const sysctlDir = join(hdir, 'sysctl.d');
      mkdirSync(sysctlDir, { recursive: true });
      must('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      const peer = `fl${tag}${i}`;
      must('ip', ['-n', ctl, 'link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      must('ip', ['-n', ctl, 'link', 'set', peer, 'master', 'ntbr0']);
      must('ip', ['-n', ctl, 'link', 'set', peer, 'up']);
      must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      must('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(hdir, 'host_ed25519')]);
      known.push(`${address} ${readFileSync(join(hdir, 'host_ed25519.pub'), 'utf8').trim()}`);
      writeFileSync(
        join(hdir, 'sshd_config'),
        [
          `ListenAddress ${address}`,
          'Port 22',
          `HostKey ${join(hdir, 'host_ed25519')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          `PidFile ${join(hdir, 'sshd.pid')}`,
          'MaxStartups 100',
          '',
        ].join('\n'),
      );
      // the holder keeps the host's private mount namespace; sshd is started inside it
      const holder = spawn('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
      const host: FleetHostNs = { name, ns, address, sysctlDir, holder, sshd: null };
      hosts.push(host);
      // the sleep's pid: the holder's child once unshare has exec'd
      let pid = '';
      await waitFor(() => {
        const r = sh('pgrep', ['-P', String(holder.pid), '-x', 'sleep']);
        pid = r.stdout.trim() || (sh('ps', ['-o', 'comm=', '-p', String(holder.pid)]).stdout.trim() === 'sleep' ? String(holder.pid) : '');
        return pid !== '';
      }, 5000, `${ns} mount-namespace holder`);
      must('nsenter', ['-t', pid, '-m', 'mount', '-t', 'tmpfs', '-o', 'mode=0755', 'nettune-test-run', '/run']);
      must('nsenter', ['-t', pid, '-m', 'mkdir', '-m', '0755', '/run/sshd']);
      must('nsenter', ['-t', pid, '-m', 'mount', '--bind', sysctlDir, '/etc/sysctl.d']);
      const sshd = spawn('nsenter', ['-t', pid, '-m', '-n', '/usr/sbin/sshd', '-D', '-e', '-f', join(hdir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      host.sshd = sshd;
      let log = '';
      sshd.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      await waitFor(() => /Server listening/.test(log) || sshd.exitCode !== null, 10_000, `sshd in ${ns}`);
      if (sshd.exitCode !== null) throw new Error(`sshd in ${ns} exited: ${log}`);
      (host as FleetHostNs & { pid: string }).pid = pid;
    }
    writeFileSync(join(dir, 'known_hosts'), `${known.join('\n')}\n`);
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host *',
        '  User root',
        `  IdentityFile ${join(dir, 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  ConnectTimeout 4',
        '',
      ].join('\n'),
    );
    for (const d of ['home', 'local-tmp', 'remote-tmp', 'cp']) mkdirSync(join(dir, d), { mode: 0o700 });
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\n');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(dir, 'home'),
      LANG: 'C.UTF-8',
      NETTUNE_NO_INSTALL: '1',
      ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
      ANSIBLE_HOST_KEY_CHECKING: 'True',
      ANSIBLE_LOCAL_TEMP: join(dir, 'local-tmp'),
      ANSIBLE_REMOTE_TEMP: join(dir, 'remote-tmp'),
      ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
      ANSIBLE_SSH_ARGS: `-F ${join(dir, 'ssh_config')} -o ControlMaster=auto -o ControlPersist=60s`,
      ANSIBLE_REMOTE_USER: 'root',
      ANSIBLE_PRIVATE_KEY_FILE: join(dir, 'id_ed25519'),
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_GALAXY_CACHE_DIR: join(dir, 'home', 'galaxy'),
      ANSIBLE_DEPRECATION_WARNINGS: 'False',
    };
    const unreachable = { name: 'gone', address: `${subnet}.250` };
    const inventory = (form: 'ini' | 'yaml', withUnreachable: boolean): string => {
      const all = [...hosts.map((h) => ({ name: h.name, address: h.address })), ...(withUnreachable ? [unreachable] : [])];
      const file = join(dir, `inventory.${form}`);
      if (form === 'ini') writeFileSync(file, ['[tuned]', ...all.map((h) => `${h.name} ansible_host=${h.address}`), ''].join('\n'));
      else writeFileSync(file, ['all:', '  children:', '    tuned:', '      hosts:', ...all.flatMap((h) => [`        ${h.name}:`, `          ansible_host: ${h.address}`]), ''].join('\n'));
      return file;
    };
    const inHost = (host: FleetHostNs, args: readonly string[]) => sh('nsenter', ['-t', (host as FleetHostNs & { pid: string }).pid, '-m', '-n', ...args]);
    const inCtl = (args: readonly string[], timeoutMs = 240_000, cwd?: string) => {
      const r = spawnSync('ip', ['netns', 'exec', ctl, ...args], { encoding: 'utf8', timeout: timeoutMs, env, ...(cwd ? { cwd } : {}) });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    return { dir, ctl, hosts, unreachable, env, inventory, inHost, inCtl, teardown };
  } catch (err) {
    teardown();
    throw err;
  }
}
