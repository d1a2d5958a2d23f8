#!/usr/bin/env bash
# Node.js 24 LTS for a machine whose own Node is older, without the system's help.
#
# Why: Together needs Node 22.12+ (24 LTS is what Azure runs it on); some machines (CI's among
# them) ship Node 20, which is end of life. Node's own binaries are published on the npm registry
# as node-<os>-<arch> packages, so npm can fetch them like any other package.
#
# How:
#   1. if the `node` on PATH is already 22.12 or newer, nothing happens;
#   2. otherwise node-<os>-<arch>@24 is installed into .tools/node24 (once; later runs reuse it);
#   3. its bin folder goes first on PATH, so `node` and the npm on PATH (which runs on `node`) use it.
#
# Use: `source scripts/use-node24.sh` (EXACT=1 asks for Node 24 even when a newer supported one is there) (the PATH change stays in your shell), then `npm start` / `npm test`.
# `bash scripts/use-node24.sh` prints the folder to put on PATH when it fetched or found Node 24.

_together_use_node24() {
  local root here current major minor os arch pkg prefix bin
  # bash has BASH_SOURCE; zsh (macOS's shell) names the sourced file with %x.
  here="$(cd "$(dirname "${BASH_SOURCE[0]:-${(%):-%x}}")" && pwd)"
  root="$(cd "$here/.." && pwd)"
  if command -v node >/dev/null 2>&1; then
    current="$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)"
    major="${current%%.*}"; minor="${current#*.}"; minor="${minor%%.*}"
    # EXACT=1 (CI) wants Node 24 itself, not merely a supported one.
    if [ "$major" -eq 24 ] || { [ "${EXACT:-}" != 1 ] && { [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; }; }; }; then
      echo "Node $current is new enough; nothing to do." >&2
      return 0
    fi
  fi
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "use-node24: install Node.js 24 LTS from https://nodejs.org on this system" >&2; return 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "use-node24: no Node package for $(uname -m); install Node.js 24 LTS from https://nodejs.org" >&2; return 1 ;; esac
  pkg="node-$os-$arch"
  prefix="$root/.tools/node24"
  bin="$prefix/node_modules/$pkg/bin"
  if [ ! -x "$bin/node" ]; then
    echo "Fetching Node.js 24 ($pkg) from the npm registry into .tools/node24…" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@24" >&2 || return 1
  fi
  case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
  echo "Using Node $("$bin/node" --version) from $bin" >&2
  printf '%s\n' "$bin"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _together_use_node24
else
  _together_use_node24 >/dev/null
fi
