#!/bin/sh
# Runs as root after the package's own files under /opt/Hearth are gone (deb postrm, rpm %postun)
# and removes everything after-install.sh put elsewhere. electron-builder reads this file as a
# template: no dollar-brace names of letters here.
#
# RAM-disk stages do NOT end when the helper exits: their bind mounts stay over the model files
# (the helper's journal keeps them) until `hearth off`, an unstage, or a reboot clears /run. With
# Hearth gone nothing could undo them, so this script first asks the installed helper, as root,
# for `off`: every user's stages, Hearth's helper-held locks and runtime sysctl changes undone.
set -e
case "${1:-}" in
  # deb upgrade, rpm upgrade ($1 = instances left): the new version's files stay in place
  upgrade | failed-upgrade | abort-install | abort-upgrade | 1 | 2) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now hearth.service >/dev/null 2>&1 || true
fi
if [ -x /usr/libexec/hearth/hearth-helper ]; then
  printf '1 off\n' | timeout 120 /usr/libexec/hearth/hearth-helper >/dev/null 2>&1 ||
    echo 'hearth: could not undo RAM-disk stages; they end at the next reboot' >&2
fi

rm -f /usr/libexec/hearth/hearth-helper /usr/libexec/hearth/hearth-helper-admin
rmdir /usr/libexec/hearth 2>/dev/null || true
rm -f /usr/share/polkit-1/actions/com.hearth.*.policy
rm -f /usr/lib/systemd/system/hearth.service /usr/lib/systemd/user/hearth.service
# Only our launcher: never a /usr/bin/hearth some other package put there.
if [ -f /usr/bin/hearth ] && grep -q HEARTH_LAUNCHER /usr/bin/hearth; then rm -f /usr/bin/hearth; fi
# The inotify limits Hearth persisted at the user's request (`hearth sysctl inotify --persist`).
rm -f /etc/sysctl.d/60-hearth-inotify.conf

# The system service's pins and state: configuration, kept on a plain deb "remove" (Debian
# keeps configuration until purge), gone on purge and on an rpm erase ($1 = 0).
case "${1:-}" in
  purge | 0)
    rm -rf /etc/hearth /var/lib/hearth
    ;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
exit 0
