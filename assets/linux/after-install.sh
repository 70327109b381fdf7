#!/bin/sh
# Installs the privileged helper where its polkit policy expects it (a fixed, root-owned path:
# pkexec runs only that binary) and the policy itself. Runs as root from the .deb.
set -e
res="/opt/Hearth/resources"
install -d -m 0755 /usr/libexec/hearth
install -m 0755 -o root -g root "$res/helper/hearth-helper" /usr/libexec/hearth/hearth-helper
for p in "$res"/polkit/*.policy; do
  [ -e "$p" ] && install -m 0644 -o root -g root "$p" /usr/share/polkit-1/actions/
done
ln -sf /opt/Hearth/hearth /usr/bin/hearth
exit 0
