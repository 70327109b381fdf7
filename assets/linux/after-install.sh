#!/bin/sh
# Runs as root after the .deb (postinst) or .rpm (%post) unpacked /opt/Hearth. Puts in place what
# must live outside it, where polkit, systemd and the shell look; after-remove.sh removes exactly
# these. electron-builder reads this file as a template: no dollar-brace names of letters here.
#   /usr/libexec/hearth/hearth-helper         root-owned: the binaries the polkit policy's actions
#   /usr/libexec/hearth/hearth-helper-admin   let pkexec run (their exec.path), src/helper/README.md
#   /usr/share/polkit-1/actions/*.policy       every policy in resources/polkit (src/helper/README.md)
#   /usr/lib/systemd/{system,user}/hearth.service   the daemon's units, where systemd's folders exist
#   /usr/bin/hearth                            the launcher (assets/linux/hearth)
set -e
res=/opt/Hearth/resources

install -d -m 0755 -o root -g root /usr/libexec/hearth
for h in hearth-helper hearth-helper-admin; do
  install -m 0755 -o root -g root "$res/helper/$h" "/usr/libexec/hearth/$h"
done

if [ -d /usr/share/polkit-1/actions ]; then
  for p in "$res"/polkit/*.policy; do
    [ -e "$p" ] || continue
    install -m 0644 -o root -g root "$p" "/usr/share/polkit-1/actions/$(basename "$p")"
  done
fi

[ -d /usr/lib/systemd/system ] && install -m 0644 -o root -g root "$res/systemd/hearth.service" /usr/lib/systemd/system/hearth.service
[ -d /usr/lib/systemd/user ] && install -m 0644 -o root -g root "$res/systemd/hearth-user.service" /usr/lib/systemd/user/hearth.service

install -m 0755 -o root -g root "$res/bin/hearth" /usr/bin/hearth

# What electron-builder's own script does (this one replaces it): the SUID sandbox helper only
# where unprivileged user namespaces do not work.
if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
  chmod 0755 /opt/Hearth/chrome-sandbox || true
else
  chmod 4755 /opt/Hearth/chrome-sandbox || true
fi
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q /usr/share/applications || true; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
exit 0
