/**
 * What makes a Debian rootfs a Lightsail instance: the packages of each blueprint and the
 * layer Stratus adds on top, an init (`/usr/local/sbin/stratus-lightsail-init`, the
 * container's PID 1) that boots the instance as Lightsail's do:
 *
 * - creates the blueprint's login user (`admin` on Debian, `bitnami` on Bitnami stacks)
 *   and installs the key pair's public key in its ~/.ssh/authorized_keys;
 * - generates the instance's own SSH host keys at first boot (the image ships none, so
 *   no two instances share one);
 * - starts sshd and the blueprint's services (nginx, apache2, mariadb);
 * - runs the launch script (user data) once, at first boot, as root, logging to
 *   /var/log/stratus-user-data.log (AWS runs it through cloud-init the same once);
 * - stops everything on SIGTERM (StopInstance), reaping orphans meanwhile (it is PID 1).
 *
 * What Stratus tells it arrives read-only under /run/stratus-lightsail (authorized_keys,
 * user-data, env, ca.pub). https://docs.aws.amazon.com/lightsail/latest/userguide/lightsail-how-to-configure-server-additional-data-shell-script.html
 */
import type { LayerEntry } from './layer.js';
import { parentDirs } from './layer.js';

export interface BlueprintPackages {
  /** Debian packages beyond minbase. */
  packages: readonly string[];
  /** /etc/init.d scripts the init starts at boot, in order. */
  services: readonly string[];
}

/** What every instance has: sshd, the tools a login shell expects, useradd. */
const BASE = ['openssh-server', 'passwd', 'procps', 'iproute2', 'less', 'curl'] as const;

/** Blueprint id → packages and services (the blueprint table itself is in the Lightsail service). */
export const LIGHTSAIL_BLUEPRINT_PACKAGES: Readonly<Record<string, BlueprintPackages>> = {
  debian_12: { packages: BASE, services: [] },
  nginx: { packages: [...BASE, 'nginx'], services: ['nginx'] },
  nodejs: { packages: [...BASE, 'nodejs', 'nginx'], services: ['nginx'] },
  lamp_8_bitnami: {
    packages: [...BASE, 'apache2', 'libapache2-mod-php', 'php-mysql', 'mariadb-server'],
    services: ['mariadb', 'apache2'],
  },
  wordpress: {
    packages: [...BASE, 'wordpress', 'apache2', 'libapache2-mod-php', 'mariadb-server'],
    services: ['mariadb', 'apache2'],
  },
};

export const LIGHTSAIL_INIT_PATH = '/usr/local/sbin/stratus-lightsail-init';
/** Where Stratus bind-mounts the instance's key, launch script and settings. */
export const LIGHTSAIL_RUN_DIR = '/run/stratus-lightsail';

const INIT = `#!/bin/bash
# Stratus Lightsail instance init (PID 1). Settings from ${LIGHTSAIL_RUN_DIR}/env:
# LIGHTSAIL_USER, LIGHTSAIL_SERVICES.
set -u
cfg=${LIGHTSAIL_RUN_DIR}
[ -f "$cfg/env" ] && . "$cfg/env"
user="\${LIGHTSAIL_USER:-admin}"
state=/var/lib/stratus-lightsail
mkdir -p "$state" /run/sshd
if [ ! -e "$state/first-boot-done" ]; then
  rm -f /etc/ssh/ssh_host_*
  ssh-keygen -A >/dev/null
fi
if ! id "$user" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$user"
  usermod -p '*' "$user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home/.ssh"
[ -s "$cfg/authorized_keys" ] && cat "$cfg/authorized_keys" > "$home/.ssh/authorized_keys"
touch "$home/.ssh/authorized_keys"
chown -R "$user:" "$home/.ssh"
chmod 700 "$home/.ssh"
chmod 600 "$home/.ssh/authorized_keys"
/usr/sbin/sshd
for s in \${LIGHTSAIL_SERVICES:-}; do
  [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" start >/dev/null 2>&1
done
if [ ! -e "$state/first-boot-done" ]; then
  touch "$state/first-boot-done"
  if [ -s "$cfg/user-data" ]; then
    (cd / && bash "$cfg/user-data" >/var/log/stratus-user-data.log 2>&1 &)
  fi
fi
echo "stratus-lightsail: booted"
stop() {
  for s in \${LIGHTSAIL_SERVICES:-}; do
    [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" stop >/dev/null 2>&1
  done
  kill -TERM -1 2>/dev/null
  sleep 1
  exit 0
}
trap stop TERM INT
while :; do
  sleep 3600 &
  wait $!
done
`;

/**
 * sshd: no PAM (pam_loginuid needs a capability containers lack), keys only, and
 * certificates of the Lightsail CA (GetInstanceAccessDetails).
 */
const SSHD_CONFIG = `# Stratus Lightsail: key-only logins, no PAM inside the container.
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
# GetInstanceAccessDetails' certificates (the region's Lightsail CA).
TrustedUserCAKeys ${LIGHTSAIL_RUN_DIR}/ca.pub
`;

export function lightsailEntries(): LayerEntry[] {
  return [
    ...parentDirs('usr/local/sbin'),
    {
      name: LIGHTSAIL_INIT_PATH.slice(1),
      type: 'file',
      mode: 0o755,
      content: Buffer.from(INIT),
    },
    ...parentDirs('etc/ssh/sshd_config.d'),
    {
      name: 'etc/ssh/sshd_config.d/stratus.conf',
      type: 'file',
      mode: 0o644,
      content: Buffer.from(SSHD_CONFIG),
    },
  ];
}
