#!/usr/bin/env bash
# Checks the .deb that scripts/package.sh built: every path docs/install.md lists is in it, lintian
# finds no error, and, installed on this machine with dpkg -i, its units pass systemd-analyze
# verify, every man page renders, the bash completion loads and the binary runs; then it is
# purged again (with the user, group and state directory it made, when they were not there before).
# Usage: scripts/check-package.sh DEB   (as root: it installs the package)
set -euo pipefail
deb=$(realpath "$1")

missing=()
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v man >/dev/null 2>&1 || missing+=(man-db)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if ((${#missing[@]})); then
    echo "check-package: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

fail() { echo "check-package: $*" >&2; exit 1; }

contents=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|')
# One man page for the program and one for every subcommand its help lists.
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
pages=(rolesanywhere-helper)
while read -r sub; do pages+=("rolesanywhere-helper-$sub"); done < <(
    "$unpacked/usr/bin/rolesanywhere-helper" --help | sed -n '/^Commands:/,/^$/p' \
        | awk '/^  [a-z]/ && $1 != "help" {print $1}')
rm -rf "$unpacked"
[ "${#pages[@]}" -gt 10 ] || fail "the binary's help lists only ${#pages[@]} commands"
expected=(
    /usr/bin/rolesanywhere-helper
    /usr/share/bash-completion/completions/rolesanywhere-helper
    /usr/share/zsh/vendor-completions/_rolesanywhere-helper
    /usr/share/fish/vendor_completions.d/rolesanywhere-helper.fish
    /usr/lib/systemd/system/rolesanywhere-helper.service
    /usr/lib/systemd/system/rolesanywhere-helper-renew.service
    /usr/lib/systemd/system/rolesanywhere-helper-renew.timer
    /usr/lib/systemd/user/rolesanywhere-helper-update.service
    /usr/lib/sysusers.d/rolesanywhere-helper.conf
    /usr/lib/tmpfiles.d/rolesanywhere-helper.conf
    /etc/rolesanywhere-helper/rolesanywhere-helper.env
    /usr/share/doc/rolesanywhere-helper/copyright
    /usr/share/doc/rolesanywhere-helper/install.md
)
for page in "${pages[@]}"; do expected+=("/usr/share/man/man1/$page.1.gz"); done
for path in "${expected[@]}"; do
    grep -qxF "$path" <<<"$contents" || fail "$deb lacks $path"
done
dpkg-deb --info "$deb" conffiles | grep -qxF /etc/rolesanywhere-helper/rolesanywhere-helper.env \
    || fail "the environment file is not a conffile"
copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/rolesanywhere-helper/copyright)
grep -q '^License: Apache-2.0' <<<"$copyright" && grep -q '/usr/share/common-licenses/Apache-2.0' <<<"$copyright" \
    || fail "copyright does not name Apache-2.0 and its text in /usr/share/common-licenses"
echo "check-package: all ${#expected[@]} paths present (${#pages[@]} man pages)"

# lintian: errors fail; warnings are printed.
lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1 || true)
[ -n "$lintian_out" ] && echo "$lintian_out"
if grep -q '^E: ' <<<"$lintian_out"; then fail "lintian reports errors"; fi
echo "check-package: lintian reports no errors"

# Install, check, purge. The user, group and state directory are removed afterwards only if this
# run made them.
had_user=$(getent passwd rolesanywhere-helper >/dev/null && echo yes || echo no)
had_state=$([ -e /var/lib/rolesanywhere-helper ] && echo yes || echo no)
cleanup() {
    dpkg -P rolesanywhere-helper >/dev/null 2>&1 || true
    if [ "$had_user" = no ] && getent passwd rolesanywhere-helper >/dev/null; then
        userdel rolesanywhere-helper 2>/dev/null || true
        getent group rolesanywhere-helper >/dev/null && groupdel rolesanywhere-helper 2>/dev/null || true
    fi
    [ "$had_state" = no ] && rm -rf /var/lib/rolesanywhere-helper
    return 0
}
trap cleanup EXIT
dpkg -i "$deb" >/dev/null
getent passwd rolesanywhere-helper >/dev/null || fail "installing did not create the user rolesanywhere-helper (sysusers.d)"
[ "$(stat -c '%U:%G %a' /var/lib/rolesanywhere-helper)" = "rolesanywhere-helper:rolesanywhere-helper 750" ] \
    || fail "/var/lib/rolesanywhere-helper is not rolesanywhere-helper's, mode 0750"
/usr/bin/rolesanywhere-helper --version >/dev/null || fail "the installed binary does not run"

# systemd-analyze verify works without systemd as PID 1 (it loads the units in a private manager);
# --man=no: the Documentation= pages are checked below, not through man's database.
verify=$(systemd-analyze verify --man=no \
    /usr/lib/systemd/system/rolesanywhere-helper.service \
    /usr/lib/systemd/system/rolesanywhere-helper-renew.service \
    /usr/lib/systemd/system/rolesanywhere-helper-renew.timer 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
# A user manager wants a runtime directory: a private one.
runtime=$(mktemp -d)
verify=$(XDG_RUNTIME_DIR=$runtime systemd-analyze --user verify --man=no \
    /usr/lib/systemd/user/rolesanywhere-helper-update.service 2>&1) || fail "systemd-analyze --user verify: $verify"
rm -rf "$runtime"
[ -z "$verify" ] || fail "systemd-analyze --user verify warns: $verify"
echo "check-package: systemd-analyze verify passes on the installed units"

# The units' command lines against the installed binary: every flag an ExecStart= passes is one
# its subcommand accepts (systemd-analyze does not know our flags; a renamed flag must fail here).
for unit in /usr/lib/systemd/system/rolesanywhere-helper*.service /usr/lib/systemd/user/rolesanywhere-helper*.service; do
    exec_line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | tr -d '\\\n')
    sub=$(awk '{print $2}' <<<"${exec_line#ExecStart=}")
    help=$(/usr/bin/rolesanywhere-helper "$sub" --help) || fail "$unit runs '$sub', which the binary does not know"
    for flag in $(grep -oE '(^| )--[a-z0-9-]+' <<<"$exec_line"); do
        grep -qE -- "(^| |,)$flag([ =,]|$)" <<<"$help" || fail "$unit passes $flag, which '$sub' does not accept"
    done
done
echo "check-package: every unit's flags are accepted by the installed binary"

for page in "${pages[@]}"; do
    rendered=$(MANWIDTH=80 man --warnings "$page" 2>&1 >/dev/null) || fail "man $page fails: $rendered"
    [ -z "$rendered" ] || fail "man $page warns: $rendered"
    MANWIDTH=80 man "$page" 2>/dev/null | grep -q "$page" || fail "man $page renders no page named $page"
done
echo "check-package: ${#pages[@]} man pages render"

complete=$(bash -c 'source /usr/share/bash-completion/completions/rolesanywhere-helper; complete -p rolesanywhere-helper')
grep -q 'rolesanywhere-helper$' <<<"$complete" || fail "the bash completion does not load: $complete"
echo "check-package: the bash completion loads ($complete)"

dpkg -r rolesanywhere-helper >/dev/null
[ ! -e /usr/bin/rolesanywhere-helper ] || fail "dpkg -r left /usr/bin/rolesanywhere-helper"
cleanup
trap - EXIT
[ ! -e /etc/rolesanywhere-helper ] || fail "dpkg -P left /etc/rolesanywhere-helper"
echo "check-package: removed and purged"
