/**
 * What makes a Debian rootfs a Lightsail instance: the packages of each blueprint and the
 * layer Stratus adds on top, an init (`/usr/local/sbin/stratus-lightsail-init`, the
 * container's PID 1) that boots the instance as Lightsail's do:
 *
 * - creates the blueprint's login user (`admin` on Debian, `bitnami` on Bitnami stacks)
 *   and installs the key pair's public key in its ~/.ssh/authorized_keys; the user has
 *   passwordless sudo, written where cloud-init writes it on AWS's images
 *   (/etc/sudoers.d/90-cloud-init-users: `<user> ALL=(ALL) NOPASSWD:ALL`);
 * - generates the instance's own SSH host keys at first boot (the image ships none, so
 *   no two instances share one);
 * - starts sshd and the blueprint's services (nginx, apache2, mariadb);
 * - configures the blueprint's application once, at first boot, where it needs a secret
 *   of its own (WordPress: its database, its admin user and their generated password);
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
  /** Files the blueprint adds (its application's configuration, its first-boot script). */
  files?: () => LayerEntry[];
}

/** What every instance has: sshd, sudo, the tools a login shell expects, useradd. */
const BASE = ['openssh-server', 'passwd', 'sudo', 'procps', 'iproute2', 'less', 'curl'] as const;

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
    packages: [
      ...BASE,
      'wordpress',
      'wordpress-theme-twentytwentythree',
      'apache2',
      'libapache2-mod-php',
      'mariadb-server',
    ],
    services: ['mariadb', 'apache2'],
    files: wordpressEntries,
  },
};

export const LIGHTSAIL_INIT_PATH = '/usr/local/sbin/stratus-lightsail-init';
/** The blueprint's own first-boot step (run by the init, as root, before the launch script). */
export const LIGHTSAIL_FIRST_BOOT_PATH = '/usr/local/lib/stratus-lightsail/first-boot';
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
# Passwordless sudo for the login user, as cloud-init sets it up on AWS's images.
printf '# Created by Stratus Lightsail (cloud-init on AWS)\\n%s ALL=(ALL) NOPASSWD:ALL\\n' "$user" \\
  > /etc/sudoers.d/90-cloud-init-users
chmod 440 /etc/sudoers.d/90-cloud-init-users
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
  if [ -x ${LIGHTSAIL_FIRST_BOOT_PATH} ]; then
    LIGHTSAIL_USER="$user" ${LIGHTSAIL_FIRST_BOOT_PATH} >/var/log/stratus-first-boot.log 2>&1
  fi
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

/**
 * WordPress as Bitnami's image has it, on Debian's wordpress package: Apache serves
 * /usr/share/wordpress at /, and the first boot makes the database and its user, writes
 * Debian's /etc/wordpress/config-default.php (used for every host name, so the address
 * may change), installs the site with the admin user `user` and saves the generated
 * password in ~/bitnami_application_password, where Bitnami's images keep it
 * (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-quick-start-guide-wordpress.html).
 * The site's URL follows the Host header (WP_HOME), so 10.213.x.y and 127.0.0.1:<port>
 * (Docker's published port) both work.
 */
const WORDPRESS_SITE = `# Stratus Lightsail: WordPress (Debian's package) at /.
<VirtualHost *:80>
  DocumentRoot /usr/share/wordpress
  Alias /wp-content /var/lib/wordpress/wp-content
  <Directory /usr/share/wordpress>
    Options FollowSymLinks
    AllowOverride Limit Options FileInfo
    DirectoryIndex index.php
    Require all granted
  </Directory>
  <Directory /var/lib/wordpress/wp-content>
    Options FollowSymLinks
    Require all granted
  </Directory>
  ErrorLog \${APACHE_LOG_DIR}/error.log
  CustomLog \${APACHE_LOG_DIR}/access.log combined
</VirtualHost>
`;

const WORDPRESS_FIRST_BOOT = `#!/bin/bash
# Stratus Lightsail: WordPress's database, config and admin user, once, at first boot.
set -eu
user="\${LIGHTSAIL_USER:-bitnami}"
home=$(getent passwd "$user" | cut -d: -f6)
pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12)
for _ in $(seq 1 120); do mysqladmin ping >/dev/null 2>&1 && break; sleep 1; done
mysql <<SQL
CREATE DATABASE IF NOT EXISTS wordpress;
CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'wordpress'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON wordpress.* TO 'wordpress'@'localhost';
FLUSH PRIVILEGES;
SQL
cat > /etc/wordpress/config-default.php <<PHP
<?php
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', '$pw');
define('DB_HOST', 'localhost');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('FS_METHOD', 'direct');
if (isset(\\$_SERVER['HTTP_HOST'])) {
  define('WP_HOME', 'http://' . \\$_SERVER['HTTP_HOST']);
  define('WP_SITEURL', 'http://' . \\$_SERVER['HTTP_HOST']);
}
PHP
chown root:www-data /etc/wordpress/config-default.php
chmod 640 /etc/wordpress/config-default.php
chown -R www-data: /var/lib/wordpress/wp-content
umask 077
printf '%s\\n' "$pw" > "$home/bitnami_application_password"
chown "$user:" "$home/bitnami_application_password"
# The site itself (WordPress's own installer, as its first visitor would run it).
curl -s -o /dev/null --max-time 120 -H 'Host: localhost' \\
  --data-urlencode 'weblog_title=My WordPress Site' --data-urlencode user_name=user \\
  --data-urlencode "admin_password=$pw" --data-urlencode "admin_password2=$pw" \\
  --data-urlencode pw_weak=1 --data-urlencode admin_email=user@example.com \\
  --data-urlencode blog_public=0 'http://127.0.0.1/wp-admin/install.php?step=2' ||
  echo "WordPress's installer did not answer: the install page waits at /"
`;

function wordpressEntries(): LayerEntry[] {
  return [
    ...parentDirs('etc/apache2/sites-available'),
    {
      name: 'etc/apache2/sites-available/wordpress.conf',
      type: 'file',
      mode: 0o644,
      content: Buffer.from(WORDPRESS_SITE),
    },
    ...parentDirs('etc/apache2/sites-enabled'),
    // Instead of Debian's default site (a2dissite 000-default; a2ensite wordpress).
    {
      name: 'etc/apache2/sites-enabled/000-default.conf',
      type: 'symlink',
      mode: 0o777,
      linkname: '../sites-available/wordpress.conf',
    },
    ...parentDirs('usr/local/lib/stratus-lightsail'),
    {
      name: LIGHTSAIL_FIRST_BOOT_PATH.slice(1),
      type: 'file',
      mode: 0o755,
      content: Buffer.from(WORDPRESS_FIRST_BOOT),
    },
  ];
}

/** The layer Stratus adds to a blueprint's packages: the init, sshd's settings, its files. */
export function lightsailEntries(blueprint: string): LayerEntry[] {
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
    ...(LIGHTSAIL_BLUEPRINT_PACKAGES[blueprint]?.files?.() ?? []),
  ];
}
