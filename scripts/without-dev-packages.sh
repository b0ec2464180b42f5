#!/usr/bin/env bash
# Runs a command as if Debian's development packages for GoogleTest, Google Benchmark,
# nlohmann-json and PCRE2 (and pkg-config) were not installed, as on the NVIDIA GPU machine, which
# has none of them. `gpu/verify_on_gpu.sh --rehearse` runs its steps this way, so that a build that
# quietly used one of them fails here, on a CPU machine, rather than there.
#
#   scripts/without-dev-packages.sh COMMAND [ARGUMENT ...]
#
# How: in a private mount namespace (unshare -m, which needs root), /usr is overlaid with a layer
# that deletes ("whites out") every file those packages installed, as dpkg -L lists them. Only the
# command and its children see the change; nothing on disk changes. The runtime libraries other
# programs need (libpcre2-8.so.0 for grep, ...) belong to other packages and stay.
#
# Exit status: the command's, or 125 when the packages cannot be hidden here (not root, no unshare,
# no overlay file system); the caller then decides what to do.
set -euo pipefail

packages=(googletest libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
          nlohmann-json3-dev libpcre2-dev pkg-config pkgconf pkgconf-bin)

cannot() {
  echo "without-dev-packages: cannot hide the packages here: $*" >&2
  exit 125
}

if [[ ${1:-} == --inside ]]; then
  # Inside the new mount namespace: $2 lists the files to hide, $3 is an empty folder for the
  # overlay's layer; the rest is the command.
  hide_list=$2
  layer=$3
  shift 3
  # The overlay's writable layer on a tmpfs: overlayfs refuses an upper layer on overlayfs (as /tmp
  # is in many containers).
  mount -t tmpfs tmpfs "$layer" || cannot "mount tmpfs failed"
  mkdir -p "$layer/upper" "$layer/work"
  # A whiteout (a character device 0/0) per file: the file is gone from the merged /usr. In one
  # python3 process: a mkdir and a mknod per file would be some two thousand processes.
  python3 - "$hide_list" "$layer/upper" <<'EOF' || cannot "could not write the whiteouts"
import os, stat, sys
upper = sys.argv[2]
for path in open(sys.argv[1]).read().split("\n"):
    if path.startswith("/usr/"):
        whiteout = os.path.join(upper, path[len("/usr/"):])
        os.makedirs(os.path.dirname(whiteout), exist_ok=True)
        os.mknod(whiteout, stat.S_IFCHR | 0o000, os.makedev(0, 0))
EOF
  mount -t overlay overlay -o "lowerdir=/usr,upperdir=$layer/upper,workdir=$layer/work" /usr ||
    cannot "mount -t overlay failed"
  # Check that it worked: the hidden headers are gone, the C library's are not.
  [[ ! -e /usr/include/gtest/gtest.h && ! -e /usr/include/nlohmann/json.hpp && -e /usr/include/stdio.h ]] ||
    cannot "the overlay did not hide the headers"
  exec "$@"
fi

(($# > 0)) || { echo "usage: $0 COMMAND [ARGUMENT ...]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || cannot "not root"
command -v unshare >/dev/null || cannot "no unshare"
command -v dpkg >/dev/null || cannot "no dpkg"

# Every file (not directory) under /usr that the installed packages among `packages` own.
hide_list=$(mktemp /tmp/without-dev-packages-list.XXXXXX)
layer=$(mktemp -d /tmp/without-dev-packages-layer.XXXXXX)
trap 'rm -rf "$hide_list" "$layer"' EXIT
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || continue
  dpkg -L "$package" | while IFS= read -r path; do
    if [[ $path == /usr/* && ( -L $path || -f $path ) ]]; then echo "$path"; fi
  done
done | sort -u >"$hide_list"
echo "without-dev-packages: hiding $(wc -l <"$hide_list") files of: ${packages[*]}" >&2

# Not exec: the trap removes the list and the (then empty) folder when the command is done.
unshare -m --propagation private bash "$0" --inside "$hide_list" "$layer" "$@"
