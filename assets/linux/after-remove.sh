#!/bin/sh
# Undoes after-install.sh. Staged RAM disks are gone already: they live under /run/hearth and
# the helper undoes them when it exits; a reboot clears /run in any case.
set -e
rm -f /usr/libexec/hearth/hearth-helper
rmdir /usr/libexec/hearth 2>/dev/null || true
rm -f /usr/share/polkit-1/actions/dev.hearth.helper.policy
[ -L /usr/bin/hearth ] && rm -f /usr/bin/hearth
exit 0
